"""RTSP network streams (IP cameras, media servers) decoded with PyAV."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from poselive.errors import ConfigError, SourceError
from poselive.sources.base import Source, redact_url
from poselive.sources.latest import LatestFrameReader
from poselive.types import FramePacket

TRANSPORTS = ("tcp", "udp")

log = logging.getLogger("poselive.sources")


def ffmpeg_rtsp_options(transport: str, timeout: float, analyze_duration: float = 1.0) -> dict[str, str]:
    """FFmpeg demuxer options for an RTSP stream with the given transport and timeouts."""
    if transport not in TRANSPORTS:
        raise ConfigError(f"RTSP transport must be one of {TRANSPORTS}, not {transport!r}")
    micros = str(int(timeout * 1_000_000))
    # FFmpeg probes 5 s of stream by default before the first frame; a second is enough
    # to find an H.264/H.265 camera's size and rate and starts the stream much sooner.
    options = {
        "rtsp_transport": transport,
        "analyzeduration": str(int(analyze_duration * 1_000_000)),
    }
    # FFmpeg 5 renamed the RTSP socket timeout from 'stimeout' to 'timeout' (in older
    # versions 'timeout' meant "listen as a server", so the name must match the version).
    if av.library_versions["libavformat"][0] >= 59:
        options["timeout"] = micros
    else:  # pragma: no cover - old FFmpeg builds only
        options["stimeout"] = micros
    return options


class RTSPSource(Source):
    """An RTSP stream read by a background thread that keeps only the newest frame.

    Options: ``transport`` ('tcp', the default, or 'udp'); ``timeout`` in seconds for
    opening and for each read (mapped to FFmpeg's socket timeout and to PyAV's
    open/read timeouts); ``analyze_duration``, seconds of stream FFmpeg may probe before
    the first frame (FFmpeg's ``analyzeduration``; raise it if size or rate come out wrong).

    Reconnection: the first connection must succeed (a wrong URL or a dead server fails
    at once, naming the URL). When a connected stream later fails or ends (camera reboot,
    network cut, server restart), the reader closes it and reconnects, waiting
    ``reconnect_delay`` seconds before the first try and doubling up to
    ``reconnect_max_delay``. ``reconnect`` is the number of tries per outage (0: never
    reconnect, the stream's end or error ends the source; None: keep trying until
    ``close()``). Iteration waits through an outage instead of failing. A recorded
    (on-demand) stream, one that announces a duration, ends at its end as a file does.
    ``status()`` says whether the stream is live or reconnecting and counts outages and
    reconnections.

    ``pts`` is the stream's timestamp in seconds relative to the first frame; across a
    reconnection it goes on from where it stopped plus the wall-clock length of the gap,
    so timestamps never go backwards.
    """

    is_live = True

    def __init__(
        self,
        url: str,
        *,
        transport: str = "tcp",
        timeout: float = 5.0,
        analyze_duration: float = 1.0,
        reconnect: int | None = 10,
        reconnect_delay: float = 0.5,
        reconnect_max_delay: float = 8.0,
        name: str | None = None,
    ) -> None:
        if reconnect is not None and reconnect < 0:
            raise ConfigError(f"reconnect must be >= 0 tries (or None: forever), not {reconnect}")
        self.url = url
        self.transport = transport
        self.timeout = float(timeout)
        self.name = name or redact_url(url)
        self.reconnect = reconnect
        self.reconnect_delay = float(reconnect_delay)
        self.reconnect_max_delay = max(float(reconnect_max_delay), self.reconnect_delay)
        self._options = ffmpeg_rtsp_options(transport, self.timeout, analyze_duration)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._start_time: float | None = None
        self._any_frame = False
        self.on_demand = False
        # Timestamps across reconnections: offset of the current connection, last pts given.
        self._pts_offset = 0.0
        self._last_pts: float | None = None
        self._last_wall: float | None = None
        self.outages = 0  # times a connected stream was lost
        self.reconnects = 0  # times it came back
        self.reconnecting = False
        self.last_error: str | None = None
        self._open()
        stream = self._container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self.size = (int(ctx.width), int(ctx.height)) if ctx.width and ctx.height else None
        self.info: dict[str, Any] = {
            "kind": "rtsp",
            "url": redact_url(url),
            "transport": transport,
            "timeout": self.timeout,
            "reconnect": reconnect,
            "fps": self.fps,
            "size": self.size,
            "codec": ctx.name,
            "frames": None,
            "has_audio": bool(self._container.streams.audio),
        }
        self._reader = LatestFrameReader(self._read_or_reconnect, self.name,
                                         on_exit=self._close_container).start()

    def status(self) -> dict[str, Any]:
        """The stream's state for a HUD or a benchmark: ``state`` ('live', 'reconnecting'
        or 'ended'), ``outages``, ``reconnects``, ``last_error`` and ``dropped``."""
        if self._reader.finished:
            state = "ended"
        elif self.reconnecting:
            state = "reconnecting"
        else:
            state = "live"
        return {"state": state, "outages": self.outages, "reconnects": self.reconnects,
                "last_error": self.last_error, "dropped": self._reader.dropped}

    def _open(self) -> None:
        """Connect to the stream and find its video stream, or raise SourceError."""
        shown = redact_url(self.url)
        try:
            container = av.open(
                self.url, mode="r", options=self._options, timeout=(self.timeout, self.timeout)
            )
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(
                f"cannot open RTSP stream {shown} (transport {self.transport}, timeout "
                f"{self.timeout:g} s): {redact_url(str(exc))}; check the URL, that the camera or server is "
                "up, and try the other transport (tcp/udp)"
            ) from exc
        if not container.streams.video:
            container.close()
            raise SourceError(f"RTSP stream {shown} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = None
        if stream.start_time is not None and stream.time_base is not None:
            start = float(stream.start_time * stream.time_base)
        with self._lock:
            self._container = container
            self._frames = container.decode(stream)
            self._start_time = start
            self._any_frame = False
            # A recorded (on-demand) stream announces its duration; a live one does not.
            self.on_demand = container.duration is not None

    def _read(self) -> tuple[np.ndarray, float | None] | None:
        """Decode the next frame: (BGR image, pts seconds or None), None at end of stream."""
        assert self._frames is not None
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(f"RTSP stream {redact_url(self.url)} failed: {exc}") from exc
        image = frame.to_ndarray(format="bgr24")
        t = frame.time  # None for frames FFmpeg could not time (often the first one)
        first, self._any_frame = not self._any_frame, True
        if t is None:
            # The reader stamps it with the wall clock since the first frame.
            return image, (0.0 if first else None)
        if self._start_time is None:
            self._start_time = t
        return image, t - self._start_time

    def _read_or_reconnect(self) -> tuple[np.ndarray, float | None] | None:
        """The reader thread's read: the next frame, reconnecting through outages."""
        while True:
            error: SourceError | None = None
            try:
                result = self._read()
            except SourceError as exc:
                error = exc
            else:
                if result is not None:
                    image, pts = result
                    if pts is not None:
                        pts += self._pts_offset
                        self._last_pts, self._last_wall = pts, time.perf_counter()
                    return image, pts
            # The stream failed (error) or ended (None). A live camera does not end on
            # purpose, but a recorded stream does: its end is the end, not an outage.
            if error is None and self.on_demand:
                return None
            if self._closing.is_set() or not self._reconnect(error):
                if error is not None:
                    raise error
                return None

    def _reconnect(self, error: SourceError | None) -> bool:
        """Reopen the stream after an outage; False when reconnecting is off or closing.

        Raises SourceError when every try failed."""
        if self.reconnect == 0:
            return False
        why = str(error) if error is not None else f"RTSP stream {self.name} ended"
        self.outages += 1
        self.last_error = why
        self.reconnecting = True
        self._close_container()
        log.warning("%s; reconnecting (%s)", why,
                    "until closed" if self.reconnect is None else f"up to {self.reconnect} tries")
        t_lost = time.monotonic()
        delay = self.reconnect_delay
        tries = 0
        try:
            while self.reconnect is None or tries < self.reconnect:
                if self._closing.wait(delay):
                    return False
                tries += 1
                try:
                    self._open()
                except SourceError as exc:
                    self.last_error = str(exc)
                    log.info("RTSP stream %s: reconnection try %d failed: %s", self.name, tries, exc)
                    delay = min(delay * 2.0, self.reconnect_max_delay)
                    continue
                if self._closing.is_set():
                    return False
                if self._last_pts is not None and self._last_wall is not None:
                    # Go on from the last timestamp plus the gap's wall-clock length.
                    self._pts_offset = self._last_pts + (time.perf_counter() - self._last_wall)
                self.reconnects += 1
                log.warning("RTSP stream %s is back after %.1f s (%d tries)", self.name,
                            time.monotonic() - t_lost, tries)
                return True
        finally:
            self.reconnecting = False
        raise SourceError(f"RTSP stream {self.name} was lost ({why}) and {tries} reconnection tries "
                          f"over {time.monotonic() - t_lost:.0f} s failed; last error: {self.last_error}")

    def _close_container(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
                self._container = None
                self._frames = None

    @property
    def dropped(self) -> int:
        """Frames the stream delivered that were replaced by newer ones before use."""
        return self._reader.dropped

    def __iter__(self) -> Iterator[FramePacket]:
        """Yield the newest frame each time; ends on close() or when the stream ends."""
        last_pts = -1.0
        waits = 0  # consecutive empty waits while connected
        while True:
            # A little slack over the read timeout: the reader itself gives up after it.
            frame = self._reader.take(self.timeout + 1.0)
            if frame is None:
                if self._reader.stopping:
                    return
                if self.reconnect != 0 and not self._reader.finished:
                    # Reconnecting (bounded by its tries), or a read that is about to time
                    # out and start one: wait, but not forever on a stalled connection.
                    waits = 0 if self.reconnecting else waits + 1
                    if waits < 3:
                        continue
                if self._reader.error is not None:
                    err = self._reader.error
                    if isinstance(err, SourceError):
                        raise err
                    raise SourceError(f"RTSP stream {self.name} failed: {err}") from err
                if self._reader.finished:
                    return
                raise SourceError(
                    f"RTSP stream {self.name} delivered no frame for {self.timeout + 1:g} s"
                )
            waits = 0
            pts = frame.pts
            # Frames FFmpeg could not time get the wall clock; never let pts go backwards.
            if pts <= last_pts:
                pts = last_pts + 1e-6
            last_pts = pts
            yield FramePacket(
                index=frame.seq, pts=pts, image=frame.image, capture_time=frame.capture_time
            )

    def close(self) -> None:
        """Stop reading; the reader thread closes the connection itself (safe twice)."""
        self._closing.set()
        self._reader.stop(join_timeout=0.5)
        if self._reader.join(0):
            self._close_container()
