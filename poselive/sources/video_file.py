"""Video files (and other URLs FFmpeg can read) decoded with PyAV, every frame in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from poselive.errors import SourceError
from poselive.sources.base import Source
from poselive.types import FramePacket


#: cv2.rotate codes that turn a frame upright, by the display matrix's counterclockwise angle.
_ROTATE = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def _upright_angle(frame: Any) -> int:
    """The counterclockwise rotation (0, 90, 180, 270) the frame's display matrix asks for."""
    try:
        angle = frame.rotation
    except (AttributeError, ValueError):
        return 0
    if not angle:
        return 0
    return int(round(float(angle) / 90.0)) * 90 % 360


class VideoFileSource(Source):
    """Decodes every frame of a video file in order, with exact timestamps.

    ``pts`` is the frame's ``pts * time_base`` in seconds (``index / fps`` when a frame
    carries no timestamp). Decoding uses FFmpeg's frame/slice threads. A file that turns
    out to be corrupt or truncated part-way yields every frame that decodes (including
    those still inside FFmpeg's decoder threads), then raises SourceError naming the file
    and the first frame index that could not be read. Rotation metadata (the display
    matrix) is honoured: frames come out upright, ``size`` is the displayed size and
    ``info["rotation"]`` the angle (degrees counterclockwise) that was applied.
    """

    is_live = False

    def __init__(self, path: str | Path, *, threads: bool = True, name: str | None = None) -> None:
        self.path = str(path)
        is_url = "://" in self.path
        if not is_url and not Path(self.path).is_file():
            raise SourceError(f"video file not found: {self.path}; check the path")
        try:
            self._container = av.open(self.path, mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(
                f"cannot open {self.path} as a video (not a video file, or corrupt): {exc}"
            ) from exc
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"{self.path} has no video stream; give a video file")
        self._stream = stream = self._container.streams.video[0]
        if threads:
            # AUTO lets FFmpeg pick frame or slice threads; decoded order is unchanged.
            stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        ctx = stream.codec_context
        if ctx is None:  # FFmpeg has no decoder for it (or the header is damaged)
            self._container.close()
            raise SourceError(f"{self.path}: no decoder for its video stream (unknown codec, or a damaged header)")
        self.size = (int(ctx.width), int(ctx.height)) if ctx.width and ctx.height else None
        self.time_base: Fraction | None = stream.time_base
        self.frames: int | None = int(stream.frames) or None
        self.name = name or Path(self.path).name
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        # The lock is held while FFmpeg decodes (never across a yield), so close() from
        # another thread waits at most one frame and never frees a container mid-decode.
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        self._packets_read = 0
        self._decode_error: BaseException | None = None
        # Decode the first frame now: a file with no decodable frame fails here, and the
        # frame's display matrix says how to turn every frame upright.
        self._frames = self._decoded()
        try:
            self._first = next(self._frames)
        except (StopIteration, av.FFmpegError, OSError) as exc:
            self._container.close()
            why = f": {exc}" if not isinstance(exc, StopIteration) else ""
            raise SourceError(f"{self.path} has no decodable video frame (empty, cut off or corrupt){why}") from None
        self.size = (int(self._first.width), int(self._first.height))
        self.rotation = _upright_angle(self._first)
        if self.rotation in (90, 270) and self.size is not None:
            self.size = (self.size[1], self.size[0])
        self.info: dict[str, Any] = {
            "kind": "file",
            "path": self.path,
            "frames": self.frames,
            "fps": self.fps,
            "size": self.size,
            "time_base": self.time_base,
            "duration": duration,
            "codec": ctx.name,
            "has_audio": bool(self._container.streams.audio),
            "rotation": self.rotation,
        }

    def _packets(self) -> Iterator[Any]:
        """Demuxed packets of the video stream, counting the non-empty ones."""
        for packet in self._container.demux(self._stream):
            if packet.size:
                self._packets_read += 1
            yield packet

    def _decoded(self) -> Iterator[Any]:
        """Decoded video frames in presentation order (FFmpeg's output order).

        On a demuxing or decoding error, the frames the decoder still holds are drained
        first (frame threading keeps several in flight), then the error is raised."""
        try:
            for packet in self._packets():
                for frame in packet.decode():
                    if frame is not None:  # damaged streams can make PyAV hand out None
                        yield frame
        except (av.FFmpegError, OSError) as exc:
            self._decode_error = exc
            try:
                for frame in self._stream.codec_context.decode(None):
                    if frame is not None:
                        yield frame
            except (av.FFmpegError, OSError, ValueError):
                pass  # nothing more can be recovered
            raise exc

    def __iter__(self) -> Iterator[FramePacket]:
        """Yield one FramePacket per decoded frame, in order, never skipping."""
        with self._lock:
            if self._started:
                raise SourceError(f"{self.path} was already read; open the source again")
            self._started = True
        frames = self._frames
        first, self._first = self._first, None
        index = 0
        fps = self.fps or 0.0
        while True:
            with self._lock:
                if self._closed:
                    return
                try:
                    frame = first if first is not None else next(frames)
                    first = None
                except StopIteration:
                    break
                except (av.FFmpegError, OSError) as exc:
                    self._close_locked()
                    raise SourceError(
                        f"{self.path} is corrupt: decoding failed at frame {index} "
                        f"({index} frames were read before it): {exc}"
                    ) from exc
                image = frame.to_ndarray(format="bgr24")
                if self.rotation:
                    image = np.ascontiguousarray(cv2.rotate(image, _ROTATE[self.rotation]))
                if frame.pts is not None and frame.time_base is not None:
                    pts = float(frame.pts * frame.time_base)
                else:
                    pts = index / fps if fps else float(index)
            yield FramePacket(index=index, pts=pts, image=image, capture_time=time.perf_counter())
            index += 1
        with self._lock:
            self._close_locked()
        # FFmpeg stops quietly at the end of a truncated file; compare with the frame
        # count the container announced so a cut-off file is reported, not hidden.
        if self.frames and self._packets_read < self.frames and "://" not in self.path:
            raise SourceError(
                f"{self.path} is truncated or damaged: it ended at frame {index} but "
                f"announces {self.frames} frames"
            )

    def _close_locked(self) -> None:
        if not self._closed:
            self._closed = True
            self._container.close()

    def close(self) -> None:
        """Stop decoding and release the file (safe from any thread, safe twice)."""
        with self._lock:
            self._close_locked()
