"""MP4 (H.264, yuv420p) video output through PyAV, with the input's timestamps and audio."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from poselive.errors import SinkError
from poselive.types import FramePacket

#: Audio codecs that MP4 can carry as they are (copied without re-encoding).
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"})


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) rounded up to even numbers, as yuv420p H.264 requires."""
    w, h = int(size[0]), int(size[1])
    return w + (w & 1), h + (h & 1)


def _as_fraction(value: Any) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value).limit_denominator(1_000_000)


class VideoSink:
    """Writes frames to a browser-playable H.264 MP4 (yuv420p, +faststart).

    Each frame is ``packet.rendered`` when set, else ``packet.image``, resized to
    ``size`` if it differs and padded by one pixel to even dimensions. Output timestamps
    are the packets' ``pts`` expressed in ``time_base`` (pass the input stream's time
    base to keep its exact timestamps; default ``1/(1000*fps)``). With ``audio_from``
    naming a file that has audio, its first audio stream is copied (remuxed when MP4 can
    carry the codec, else transcoded to AAC) up to the end of the last video frame.
    ``close()`` flushes the encoder and writes the trailer, so a run stopped early still
    leaves a playable file. With ``size=None`` the first frame's size is used (the file
    is created then). A graph stage: ``sink(packet)`` returns the packet.
    """

    #: Ask the graph for a lossless input edge: a file must not lose rendered frames.
    input_policy = "lossless"

    def __init__(
        self,
        path: str | Path,
        fps: float,
        size: tuple[int, int] | None,
        time_base: Fraction | float | None = None,
        audio_from: str | Path | None = None,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        name: str = "video_sink",
    ) -> None:
        self.path = Path(path)
        self.name = name
        if not fps or fps <= 0:
            raise SinkError(f"VideoSink {self.path}: fps must be positive, not {fps!r}")
        self.fps = float(fps)
        self._rate = Fraction(self.fps).limit_denominator(1001)
        self.time_base = _as_fraction(time_base) if time_base else Fraction(1, 1000) / self._rate
        self._crf, self._preset = int(crf), str(preset)
        self._audio_from = Path(audio_from) if audio_from is not None else None
        self._lock = threading.Lock()
        self._closed = False
        self._out: Any = None
        self._audio_in: Any = None
        self.frames_written = 0
        self._last_pts: int | None = None
        self._end_time = 0.0  # seconds: end of the last video frame written
        self.audio_mode: str | None = None  # "copy" or "aac" when audio is written
        self.size: tuple[int, int] | None = None
        self.out_size: tuple[int, int] | None = None
        if size is not None:
            self._open((int(size[0]), int(size[1])))
        else:
            # The size comes with the first frame; still fail now on an unwritable path.
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SinkError(f"cannot create video file {self.path}: {exc}") from exc
            if not os.access(self.path.parent, os.W_OK):
                raise SinkError(f"cannot create video file {self.path}: folder is not writable")

    def _open(self, size: tuple[int, int]) -> None:
        """Create the MP4 with its video (and audio) stream for frames of this size."""
        if size[0] <= 0 or size[1] <= 0:
            raise SinkError(f"VideoSink {self.path}: bad frame size {size!r}")
        self.size = size
        self.out_size = even_size(size)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            out = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        except (av.FFmpegError, OSError) as exc:
            raise SinkError(
                f"cannot create video file {self.path}: {exc}; check the folder is writable"
            ) from exc
        try:
            stream = out.add_stream("libx264", rate=self._rate)
            stream.width, stream.height = self.out_size
            stream.pix_fmt = "yuv420p"
            stream.time_base = self.time_base
            stream.codec_context.time_base = self.time_base
            stream.options = {"crf": str(self._crf), "preset": self._preset}
            self._out = out
            self._video = stream
            if self._audio_from is not None:
                self._setup_audio(self._audio_from)
        except (av.FFmpegError, OSError, ValueError, SinkError) as exc:
            out.close()
            self._out = None
            if isinstance(exc, SinkError):
                raise
            raise SinkError(f"cannot set up video file {self.path}: {exc}") from exc

    # -- audio -------------------------------------------------------------------------

    def _setup_audio(self, source: Path) -> None:
        try:
            audio_in = av.open(str(source), mode="r")
        except (av.FFmpegError, OSError) as exc:
            raise SinkError(f"cannot read audio from {source}: {exc}") from exc
        if not audio_in.streams.audio:
            audio_in.close()  # a video without sound: nothing to copy, not an error
            return
        a_in = audio_in.streams.audio[0]
        self._audio_in = audio_in
        self._a_in = a_in
        if a_in.codec_context.name in MP4_AUDIO_CODECS:
            self.audio_mode = "copy"
            self._a_out = self._out.add_stream_from_template(a_in)
        else:
            self.audio_mode = "aac"
            rate = a_in.codec_context.sample_rate or 48000
            self._a_out = self._out.add_stream("aac", rate=rate)
            self._a_out.layout = a_in.codec_context.layout.name if a_in.codec_context.layout else "stereo"
            self._resampler = av.AudioResampler(format="fltp", layout=self._a_out.layout, rate=rate)
        self._audio_packets: Iterator[Any] = audio_in.demux(a_in)
        self._pending_audio: Any = None

    def _audio_time(self, packet: Any) -> float | None:
        ts = packet.pts if packet.pts is not None else packet.dts
        return None if ts is None else float(ts * packet.time_base)

    def _write_audio_until(self, t_end: float) -> None:
        """Write input audio packets that start before t_end seconds."""
        if self._audio_in is None:
            return
        while True:
            packet = self._pending_audio
            if packet is None:
                try:
                    packet = next(self._audio_packets)
                except (StopIteration, av.FFmpegError):
                    # The end of the audio (or damaged audio): keep what was copied.
                    self._close_audio_input()
                    return
                if packet.size == 0:
                    continue  # demuxer's flush marker
            t = self._audio_time(packet)
            if t is not None and t >= t_end:
                self._pending_audio = packet  # belongs to a later video frame
                return
            self._pending_audio = None
            if self.audio_mode == "copy":
                packet.stream = self._a_out
                self._out.mux(packet)
            else:
                for frame in packet.decode():
                    for resampled in self._resampler.resample(frame):
                        for out in self._a_out.encode(resampled):
                            self._out.mux(out)

    def _close_audio_input(self) -> None:
        if self._audio_in is not None:
            self._audio_in.close()
            self._audio_in = None

    # -- video -------------------------------------------------------------------------

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        assert self.size is not None and self.out_size is not None
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        if (w, h) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        pad_w, pad_h = self.out_size[0] - self.size[0], self.out_size[1] - self.size[1]
        if pad_w or pad_h:
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        return np.ascontiguousarray(image, dtype=np.uint8)

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Encode the packet's frame (rendered if present) and return the packet."""
        image = packet.rendered if packet.rendered is not None else packet.image
        with self._lock:
            if self._closed:
                raise SinkError(f"video file {self.path} is already closed")
            if self._out is None:
                self._open((int(image.shape[1]), int(image.shape[0])))
            pts = int(round(packet.pts / self.time_base))
            # The encoder needs strictly increasing timestamps; live clocks can repeat.
            if self._last_pts is not None and pts <= self._last_pts:
                pts = self._last_pts + 1
            self._last_pts = pts
            frame = av.VideoFrame.from_ndarray(self._prepare(image), format="bgr24")
            frame.pts = pts
            frame.time_base = self.time_base
            try:
                for out in self._video.encode(frame):
                    self._out.mux(out)
                self._end_time = float(pts * self.time_base) + 1.0 / self.fps
                self._write_audio_until(float(pts * self.time_base))
            except (av.FFmpegError, OSError) as exc:
                raise SinkError(f"writing frame {packet.index} to {self.path} failed: {exc}") from exc
            self.frames_written += 1
        return packet

    def close(self) -> None:
        """Flush the encoder, finish the audio, write the trailer (safe twice)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._out is None:
                return  # no size was given and no frame came: nothing to finish
            try:
                for out in self._video.encode(None):
                    self._out.mux(out)
                if self.frames_written:
                    self._write_audio_until(self._end_time)
                if self.audio_mode == "aac":
                    for out in self._a_out.encode(None):
                        self._out.mux(out)
            except (av.FFmpegError, OSError) as exc:
                raise SinkError(f"finishing video file {self.path} failed: {exc}") from exc
            finally:
                self._close_audio_input()
                self._out.close()

    def __enter__(self) -> "VideoSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
