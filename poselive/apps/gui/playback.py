"""What the GUI adds to a graph, without Qt: a source it can pace, pause and loop, and a
recorder stage it can switch on and off while the graph runs."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

from poselive.sources import open_source
from poselive.sources.base import Source
from poselive.types import FramePacket


class PlaybackSource(Source):
    """Wraps a source so the GUI can play a file in real time, pause it, loop it and
    resume it at a frame; live sources (cameras, streams) pass through, and while paused
    their frames are read and discarded so that resuming shows the present.

    ``realtime``: a file's frames leave at their timestamps (as a player shows them),
    else as fast as the graph takes them. ``loop``: a file starts over at its end, with
    timestamps that keep increasing. ``start_at``: frames of a file before this index are
    skipped (resuming after the pipeline was rebuilt). ``position`` is the index in the
    file of the newest frame handed out. Every setter is safe from any thread.
    """

    def __init__(self, spec: str | int, source_options: dict | None = None, *, realtime: bool = True,
                 loop: bool = False, start_at: int = 0,
                 opener: Callable[..., Source] = open_source) -> None:
        self.spec = spec
        self._options = dict(source_options or {})
        self._opener = opener
        self._inner = opener(spec, **self._options)
        self.name = str(getattr(self._inner, "name", spec))
        self.is_live = bool(self._inner.is_live)
        self.fps = self._inner.fps
        self.size = self._inner.size
        self.info = dict(getattr(self._inner, "info", None) or {"kind": type(self._inner).__name__})
        self.realtime = bool(realtime)
        self.loop = bool(loop)
        self.start_at = 0 if self.is_live else max(0, int(start_at))
        self.position = -1
        self.loops = 0
        self._paused = False
        self._closed = False
        self._cond = threading.Condition()

    # -- control (any thread) --------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Hold the stream (a file waits; a live source's frames are discarded)."""
        with self._cond:
            self._paused = bool(paused)
            self._cond.notify_all()

    def set_realtime(self, realtime: bool) -> None:
        """Pace a file at its own frame rate (True) or not at all (False)."""
        with self._cond:
            self.realtime = bool(realtime)
            self._cond.notify_all()

    def set_loop(self, loop: bool) -> None:
        """Start a file over at its end (True) or end the stream there (False)."""
        self.loop = bool(loop)

    def status(self) -> dict[str, Any]:
        """The wrapped source's status (RTSP: state, reconnects), plus ``paused``."""
        fn = getattr(self._inner, "status", None)
        st = dict(fn()) if callable(fn) else {}
        st["paused"] = self._paused
        return st

    def close(self) -> None:
        """Stop: a waiting or reading iteration ends soon after (any thread, safe twice)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._inner.close()

    # -- the stream --------------------------------------------------------------------
    def _wait(self, seconds: float | None) -> None:
        with self._cond:
            if not self._closed:
                self._cond.wait(seconds)

    def __iter__(self) -> Iterator[FramePacket]:
        index = 0
        pts_offset = 0.0
        anchor: tuple[float, float] | None = None  # (wall clock, pts) that pacing counts from
        while True:
            last_pts = None
            for pkt in self._inner:
                if self._closed:
                    return
                last_pts = pkt.pts
                if pkt.index < self.start_at and self.loops == 0:
                    continue  # resuming: these frames were shown before the rebuild
                while self._paused and not self._closed and not self.is_live:
                    anchor = None
                    self._wait(0.1)
                if self._closed:
                    return
                if self._paused:  # live: keep reading, show nothing
                    anchor = None
                    continue
                pts = pkt.pts + pts_offset
                if self.realtime and not self.is_live:
                    anchor = self._pace(pts, anchor)
                    if self._closed:
                        return
                else:
                    anchor = None
                self.position = pkt.index
                yield dataclasses.replace(pkt, index=index, pts=pts, capture_time=time.perf_counter())
                index += 1
            if self._closed or self.is_live or not self.loop or last_pts is None:
                return
            step = 1.0 / self.fps if self.fps else 0.04
            pts_offset += last_pts + step
            self.loops += 1
            self._inner = self._opener(self.spec, **self._options)

    def _pace(self, pts: float, anchor: tuple[float, float] | None) -> tuple[float, float] | None:
        """Wait until ``pts`` is due on the wall clock; returns the anchor to keep."""
        now = time.perf_counter()
        if anchor is None:
            return (now, pts)
        while True:
            delay = anchor[0] + (pts - anchor[1]) - now
            if delay > 0.5 or delay < -0.25:
                # A jump in the timestamps (or the graph fell far behind): restart the
                # clock here rather than sleep long or rush to catch up.
                return (now, pts)
            if delay <= 0.001 or self._closed or self._paused or not self.realtime:
                return anchor
            self._wait(delay)
            now = time.perf_counter()


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
