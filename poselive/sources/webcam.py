"""Webcams (and other OpenCV capture devices) read through cv2.VideoCapture."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from poselive.errors import NoCameraError, SourceError
from poselive.sources.base import Source
from poselive.sources.latest import LatestFrameReader
from poselive.types import FramePacket


class WebcamSource(Source):
    """A camera read by a background thread that always keeps only the newest frame.

    ``device`` is a camera index (0 = first camera) or a device path such as
    ``/dev/video2``. ``width``/``height``/``fps`` are *requested* through
    ``CAP_PROP_*``; the camera may choose others, and ``size``/``fps`` report what it
    actually delivers. ``index`` of a packet counts frames read from the camera, so a
    gap means the consumer was slower and older frames were dropped. ``pts`` is seconds
    since the first frame arrived.
    """

    is_live = True

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        open_timeout: float = 5.0,
        read_timeout: float = 5.0,
        api_preference: int = cv2.CAP_ANY,
        name: str | None = None,
    ) -> None:
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        self.device = device
        self.read_timeout = float(read_timeout)
        what = f"no camera at index {device}" if isinstance(device, int) else f"no camera at {device}"
        cap = cv2.VideoCapture(device, api_preference)
        if not cap.isOpened():
            cap.release()
            raise NoCameraError(f"{what} (connect one, or close other programs that use it)")
        # Ask for the mode before the first read: most drivers only switch modes then.
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(width))
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(height))
        if fps:
            cap.set(cv2.CAP_PROP_FPS, float(fps))
        got_fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(got_fps) if got_fps and got_fps > 0 else None
        self._cap = cap
        self._released = False
        self._release_lock = threading.Lock()
        self.name = name or (f"webcam{device}" if isinstance(device, int) else str(device))
        self._reader = LatestFrameReader(self._read, self.name, on_exit=self._release).start()
        if not self._reader.wait_first(open_timeout):
            self._reader.stop()
            detail = f": {self._reader.error}" if self._reader.error else ""
            raise SourceError(
                f"camera {device} opened but delivered no frame within {open_timeout:g} s"
                f"{detail}; check that it is not used by another program"
            )
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size = (w, h) if w > 0 and h > 0 else None
        self.info: dict[str, Any] = {
            "kind": "webcam",
            "device": device,
            "requested": {"width": width, "height": height, "fps": fps},
            "backend": cap.getBackendName(),
            "fps": self.fps,
            "size": self.size,
            "frames": None,
            "has_audio": False,
        }

    def _read(self) -> tuple[np.ndarray, None] | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            return None  # unplugged, or the end of a file opened as a "device"
        return image, None

    def _release(self) -> None:
        with self._release_lock:
            if not self._released:
                self._released = True
                self._cap.release()

    @property
    def dropped(self) -> int:
        """Frames the camera delivered that were replaced by newer ones before use."""
        return self._reader.dropped

    def __iter__(self) -> Iterator[FramePacket]:
        """Yield the newest frame each time; ends on close() or when the camera stops."""
        while True:
            frame = self._reader.take(self.read_timeout)
            if frame is None:
                if self._reader.stopping:
                    return
                if self._reader.error is not None:
                    raise SourceError(
                        f"camera {self.device} failed: {self._reader.error}"
                    ) from self._reader.error
                if self._reader.finished:
                    return  # the device stopped delivering (unplugged or end of file)
                raise SourceError(
                    f"camera {self.device} delivered no frame for {self.read_timeout:g} s; "
                    "check the cable and that no other program took the camera"
                )
            yield FramePacket(
                index=frame.seq, pts=frame.pts, image=frame.image, capture_time=frame.capture_time
            )

    def close(self) -> None:
        """Stop the reader; it releases the camera in its own thread (safe twice)."""
        self._reader.stop(join_timeout=1.0)
        if self._reader.join(0):
            self._release()
