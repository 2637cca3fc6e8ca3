"""A file played as a live source: frames leave at their own timestamps (``realtime``),
optionally paused, looped or resumed at a frame. ``poselive process --realtime``,
``poselive bench --realtime`` and the GUI use it to measure and show live latency
without a camera."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
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
