"""What the GUI adds to a graph, without Qt: a source it can pace, pause and loop
(``PlaybackSource``, in ``poselive.sources.playback`` since the CLI paces files too), and
a recorder stage it can switch on and off while the graph runs."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from poselive.sources.playback import PlaybackSource
from poselive.types import FramePacket

__all__ = ["PlaybackSource", "RecorderStage"]  # PlaybackSource kept importable from here


class RecorderStage:
    """A graph stage that, while recording, draws the overlay on each frame and writes it
    to an MP4 and the frame's persons to a JSONL beside it; otherwise it passes packets on.

    ``start()`` and ``stop()`` are called from the GUI thread while the graph runs; the
    lock makes a frame go to both files or to neither, so the two always hold the same
    number of frames (``frames``).
    """

    name = "record"
    input_policy = "lossless"  # every frame that reaches the recorder is written

    def __init__(self, renderer: Any, header: dict | None = None) -> None:
        self.renderer = renderer
        self.header = dict(header or {})
        self._lock = threading.Lock()
        self._video: Any = None
        self._jsonl: Any = None
        self._t0: float | None = None
        self.frames = 0
        self.paths: tuple[Path, Path] | None = None

    @property
    def recording(self) -> bool:
        return self._video is not None

    def start(self, mp4: str | Path, fps: float | None, size: tuple[int, int] | None) -> tuple[Path, Path]:
        """Open ``mp4`` and the JSONL beside it (same stem); raises SinkError."""
        from poselive.sinks import JsonlSink, VideoSink

        mp4 = Path(mp4)
        jsonl = mp4.with_suffix(".jsonl")
        video = VideoSink(mp4, fps=fps or 30.0, size=size)
        try:
            lines = JsonlSink(jsonl, self.header)
        except BaseException:
            video.close()
            raise
        with self._lock:
            self._close_locked()
            self._video, self._jsonl, self._t0, self.frames = video, lines, None, 0
            self.paths = (mp4, jsonl)
        return mp4, jsonl

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Write the packet when recording (with the overlay drawn), then return it."""
        with self._lock:
            if self._video is None:
                return packet
            if self._t0 is None:
                self._t0 = packet.pts
            drawn = self.renderer(dataclasses.replace(packet, meta=dict(packet.meta)))
            # The MP4 starts at 0 s; the JSONL keeps the source's own times.
            self._video(dataclasses.replace(drawn, pts=packet.pts - self._t0))
            self._jsonl(packet)
            self.frames += 1
        return packet

    def stop(self) -> int:
        """Finish both files; returns how many frames each holds."""
        with self._lock:
            frames = self.frames
            self._close_locked()
            return frames

    def _close_locked(self) -> None:
        video, lines = self._video, self._jsonl
        self._video = self._jsonl = None
        try:
            if video is not None:
                video.close()
        finally:
            if lines is not None:
                lines.close()

    def close(self) -> None:
        """End of the stream: finish any recording."""
        self.stop()
