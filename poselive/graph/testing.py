"""Small real sources and stages for tests, demos and benchmarks of the graph runtime."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import numpy as np

from poselive.types import FramePacket


class SyntheticSource:
    """Generates ``num_frames`` frames (None: endless) of ``size`` at ``fps``.

    Frame ``i`` is filled with ``i % 256`` and has ``pts = i / fps``. With ``realtime``
    (default: same as ``is_live``) frames are paced to ``fps`` like a camera and frame
    ``i`` is stamped as captured at ``start + i / fps``: like a camera whose driver
    buffers frames, a reader that falls behind gets late frames with their true capture
    time. ``close()`` from another thread ends the iteration at once.
    """

    def __init__(
        self,
        num_frames: int | None = 100,
        size: tuple[int, int] = (64, 48),
        fps: float = 30.0,
        is_live: bool = False,
        realtime: bool | None = None,
        name: str = "synthetic",
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.name = name
        self.is_live = is_live
        self.fps: float | None = float(fps)
        self.size: tuple[int, int] | None = (int(size[0]), int(size[1]))
        self.num_frames = num_frames
        self.realtime = is_live if realtime is None else realtime
        self._closed = threading.Event()
        self.close_calls = 0
        self.frames_made = 0

    def __iter__(self) -> Iterator[FramePacket]:
        w, h = self.size  # type: ignore[misc]
        t0 = time.perf_counter()
        i = 0
        while (self.num_frames is None or i < self.num_frames) and not self._closed.is_set():
            captured = time.perf_counter()
            if self.realtime:
                captured = t0 + i / self.fps  # type: ignore[operator]
                delay = captured - time.perf_counter()
                # wait on the event, not sleep, so close() interrupts the pacing at once
                if delay > 0 and self._closed.wait(delay):
                    return
            image = np.full((h, w, 3), i % 256, np.uint8)
            self.frames_made += 1
            yield FramePacket(
                index=i, pts=i / self.fps, image=image, capture_time=captured  # type: ignore[operator]
            )
            i += 1

    def close(self) -> None:
        """End the iteration soon; safe from any thread."""
        self.close_calls += 1
        self._closed.set()


class SleepStage:
    """A stage that sleeps ``seconds`` per packet and remembers what it saw.

    ``seen`` lists packet indices in arrival order; ``close_calls`` counts close();
    ``fail_at`` raises RuntimeError on the first packet whose index is ``fail_at`` or
    more (a ``latest`` edge may drop frame ``fail_at`` itself: an exact match would then
    never fire, and a graph on an endless live source would run forever); ``failed_at``
    is the index it raised on.
    """

    def __init__(self, name: str, seconds: float = 0.0, fail_at: int | None = None) -> None:
        self.name = name
        self.seconds = float(seconds)
        self.fail_at = fail_at
        self.seen: list[int] = []
        self.close_calls = 0
        self.failed_at: int | None = None

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Sleep, then mark the packet as seen by this stage."""
        if self.fail_at is not None and packet.index >= self.fail_at:
            self.failed_at = packet.index
            raise RuntimeError(f"{self.name} failed on purpose at frame {packet.index}")
        if self.seconds > 0:
            time.sleep(self.seconds)
        self.seen.append(packet.index)
        packet.meta.setdefault("path", []).append(self.name)
        return packet

    def close(self) -> None:
        """Count the call (a sink would finalise its file here)."""
        self.close_calls += 1
