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
from poselive.sinks.atomic import OutputFile, finish_output, partial_path, trim_to_last_fragment
from poselive.types import FramePacket

#: Audio codecs that MP4 can carry as they are (copied without re-encoding).
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"})

#: Fragmented MP4: the index first (empty), then self-contained fragments, each starting
#: at a keyframe; players and browsers play it, and a cut-off file plays to its last one.
FRAGMENTED = "frag_keyframe+empty_moov+default_base_moof"


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) rounded up to even numbers, as yuv420p H.264 requires."""
    w, h = int(size[0]), int(size[1])
    return w + (w & 1), h + (h & 1)


def _as_fraction(value: Any) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value).limit_denominator(1_000_000)


class VideoSink:
    """Writes frames to a crash-safe, browser-playable H.264 MP4 (yuv420p, fragmented).

    The MP4 is fragmented (an empty index, then one fragment per keyframe, a keyframe
    about every second, no B-frames), so what was written survives a kill or a full
    disk: the file plays up to its last complete fragment. It is written as
    ``<stem>.partial.mp4`` and renamed to ``path`` by ``close()``; after a write error
    the partial file is left (``written_path``) and ``report()`` says so.

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
        self.partial_path = partial_path(self.path)
        self.name = name
        self.failed: str | None = None  # the write error, once one happened
        self.finished = False  # renamed into place
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
        self._file: OutputFile | None = None
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
            # Through our own file object: FFmpeg's file output ignores write errors.
            self._file = OutputFile(self.partial_path)
            out = av.open(self._file, mode="w", format="mp4", options={"movflags": FRAGMENTED})
        except (av.FFmpegError, OSError) as exc:
            if self._file is not None:
                self._file.close()
                self._file = None
            raise SinkError(
                f"cannot create video file {self.path}: {exc}; check the folder is writable"
            ) from exc
        try:
            stream = out.add_stream("libx264", rate=self._rate)
            stream.width, stream.height = self.out_size
            stream.pix_fmt = "yuv420p"
            stream.time_base = self.time_base
            stream.codec_context.time_base = self.time_base
            # A keyframe about every second starts a fragment; no B-frames keeps the
            # encoder's delay (frames held back from the file) short.
            gop = max(1, int(round(self.fps)))
            stream.codec_context.gop_size = gop
            stream.codec_context.max_b_frames = 0
            stream.options = {"crf": str(self._crf), "preset": self._preset, "bf": "0",
                              "keyint_min": str(gop), "sc_threshold": "0"}
            self._out = out
            self._video = stream
            if self._audio_from is not None:
                self._setup_audio(self._audio_from)
            # Write the file's header now: an unwritable place fails before the first
            # frame, and a run stopped at once still leaves a valid (empty) MP4.
            out.start_encoding()
        except (av.FFmpegError, OSError, ValueError, SinkError) as exc:
            try:
                out.close()
            except (av.FFmpegError, OSError):
                pass  # the file is removed next
            self._out = None
            self._close_file()
            self.partial_path.unlink(missing_ok=True)
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
                if t is not None and packet.duration and t + float(packet.duration * packet.time_base) <= 0:
                    # encoder priming before time 0: a fragmented MP4 has no edit list to
                    # hide it, and keeping it would shift the audio late
                    continue
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
            if self.failed is not None:
                raise SinkError(self.failed)
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
                self.failed = f"writing frame {packet.index} to {self.path} failed: {exc}"
                raise SinkError(self.failed) from exc
            self.frames_written += 1
        return packet

    def close(self) -> None:
        """Flush the encoder, finish the audio, close the file and rename it into place
        (safe twice). After a write error the partial file is closed as it is."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._out is None:
                return  # no size was given and no frame came: nothing to finish
            try:
                if self.failed is None:
                    for out in self._video.encode(None):
                        self._out.mux(out)
                    if self.frames_written:
                        self._write_audio_until(self._end_time)
                    if self.audio_mode == "aac":
                        for out in self._a_out.encode(None):
                            self._out.mux(out)
            except (av.FFmpegError, OSError) as exc:
                self.failed = f"finishing video file {self.path} failed: {exc}"
                raise SinkError(self.failed) from exc
            finally:
                self._close_audio_input()
                try:
                    self._out.close()
                except (av.FFmpegError, OSError) as exc:
                    if self.failed is None:
                        self.failed = f"finishing video file {self.path} failed: {exc}"
                        raise SinkError(self.failed) from exc
                finally:
                    self._close_file()
                    if self.failed is not None:
                        # the fragments written in full stay; a cut-off one is removed
                        try:
                            trim_to_last_fragment(self.partial_path)
                        except OSError:
                            pass
            if self.failed is None:
                finish_output(self.partial_path, self.path)
                self.finished = True

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Close without finalising and remove the partial file (a run that never started)."""
        with self._lock:
            self._closed = True
            self.failed = self.failed or "discarded"
            out, self._out = self._out, None
            self._close_audio_input()
            if out is not None:
                try:
                    out.close()
                except (av.FFmpegError, OSError):
                    pass  # the file is removed next
            self._close_file()
            self.partial_path.unlink(missing_ok=True)

    @property
    def written_path(self) -> Path:
        """Where the video is: ``path`` once finalised, else the partial file."""
        return self.path if self.finished else self.partial_path

    def report(self) -> str:
        """One line for the run's summary: what was written where."""
        if self.finished:
            return f"wrote {self.path} ({self.frames_written} frames)"
        if self._out is None:
            return f"no video written to {self.path} (no frame arrived)"
        why = self.failed or "not finalised"
        return (f"left {self.partial_path} ({self.frames_written} frames encoded; it plays up to its "
                f"last complete fragment; {why})")

    def __enter__(self) -> "VideoSink":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
