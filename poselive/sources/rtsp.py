"""RTSP network streams (IP cameras, media servers) decoded with PyAV."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from poselive.errors import ConfigError, SourceError
from poselive.sources.base import Source, redact_url
from poselive.sources.latest import LatestFrameReader
from poselive.types import FramePacket

TRANSPORTS = ("tcp", "udp")


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
    the first frame (FFmpeg's ``analyzeduration``; raise it if size or rate come out wrong). ``pts`` is the stream's timestamp in seconds relative to the
    first frame. Opening is done by ``_open()`` and reading by ``_read()`` so that a
    reconnecting reader can be built on them.
    """

    is_live = True

    def __init__(
        self,
        url: str,
        *,
        transport: str = "tcp",
        timeout: float = 5.0,
        analyze_duration: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.transport = transport
        self.timeout = float(timeout)
        self.name = name or redact_url(url)
        self._options = ffmpeg_rtsp_options(transport, self.timeout, analyze_duration)
        self._lock = threading.Lock()
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._start_time: float | None = None
        self._any_frame = False
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
            "fps": self.fps,
            "size": self.size,
            "codec": ctx.name,
            "frames": None,
            "has_audio": bool(self._container.streams.audio),
        }
        self._reader = LatestFrameReader(self._read, self.name, on_exit=self._close_container).start()

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
        while True:
            # A little slack over the read timeout: the reader itself gives up after it.
            frame = self._reader.take(self.timeout + 1.0)
            if frame is None:
                if self._reader.stopping:
                    return
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
        self._reader.stop(join_timeout=0.5)
        if self._reader.join(0):
            self._close_container()
