"""Still images: a folder of images played as a sequence, or one image."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import logging
import numpy as np

from poselive.errors import SourceError
from poselive.sources.base import IMAGE_EXTENSIONS, Source, natural_key
from poselive.types import FramePacket

log = logging.getLogger("poselive.sources")

#: Default frame rate that gives images of a folder their timestamps (index / fps).
DEFAULT_IMAGE_FPS = 10.0


def read_image(path: Path) -> np.ndarray:
    """Read an image file as BGR uint8, or raise SourceError naming it."""
    try:
        # imdecode on the raw bytes also works for non-ASCII paths, unlike imread.
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"cannot read image {path}: {exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(
            f"cannot decode image {path}: the file is not a valid image or is corrupt; "
            "remove or replace it"
        )
    return image


class ImageFolderSource(Source):
    """The images of a folder (jpg/jpeg/png/bmp/webp), in natural sort order.

    Numbers in names sort by value (``frame2`` before ``frame10``). ``pts`` is
    ``index / fps`` (``index`` counts the images yielded); ``size`` is the first readable
    image's size (later images may differ). An image that cannot be read or decoded is
    logged, skipped and listed in ``skipped`` as ``(path, reason)``; with
    ``strict=True`` it raises SourceError naming it instead.
    """

    is_live = False
    kind = "folder"

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float = DEFAULT_IMAGE_FPS,
        recursive: bool = False,
        strict: bool = False,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.strict = bool(strict)
        if not self.path.is_dir():
            raise SourceError(f"image folder not found: {self.path}; check the path")
        if fps <= 0:
            raise SourceError(f"fps for image folder {self.path} must be positive, not {fps}")
        pattern = "**/*" if recursive else "*"
        files = [
            p for p in self.path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        ]
        files.sort(key=lambda p: natural_key(str(p.relative_to(self.path))))
        if not files:
            raise SourceError(
                f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) in folder {self.path}"
            )
        self._setup(files, fps, name or self.path.name)

    def _setup(self, files: Sequence[Path], fps: float, name: str) -> None:
        self.files = list(files)
        self.fps = float(fps)
        self.name = name
        self.skipped: list[tuple[Path, str]] = []
        self._first: np.ndarray | None = None
        self._first_pos = 0
        for pos, path in enumerate(self.files):
            self._first = self._read(path)
            if self._first is not None:
                self._first_pos = pos
                break
        if self._first is None:
            raise SourceError(f"none of the {len(self.files)} images in {self.path} can be read: "
                              f"{self.skipped[0][1]}")
        h, w = self._first.shape[:2]
        self.size = (int(w), int(h))
        self._stop = threading.Event()
        self.info: dict[str, Any] = {
            "kind": self.kind,
            "path": str(self.path),
            "frames": len(self.files),
            "fps": self.fps,
            "size": self.size,
            "time_base": None,
            "has_audio": False,
        }

    def _read(self, path: Path) -> np.ndarray | None:
        """The image, or None after logging and recording why it was skipped (strict: raise)."""
        try:
            return read_image(path)
        except SourceError as exc:
            if getattr(self, "strict", False):
                raise
            log.warning("skipping %s", exc)
            self.skipped.append((path, str(exc)))
            return None

    def __iter__(self) -> Iterator[FramePacket]:
        """Yield one FramePacket per readable image, in order; pts = index / fps."""
        index = 0
        for pos, path in enumerate(self.files):
            if self._stop.is_set():
                return
            if pos < self._first_pos:
                continue  # unreadable, already recorded when opening
            if pos == self._first_pos and self._first is not None:
                image, self._first = self._first, None  # already read when opening
            else:
                image = self._read(path)
                if image is None:
                    continue
            packet = FramePacket(
                index=index, pts=index / self.fps, image=image, capture_time=time.perf_counter()
            )
            packet.meta["path"] = str(path)
            yield packet
            index += 1

    def close(self) -> None:
        """Stop after the current image (safe from any thread, safe twice)."""
        self._stop.set()


class ImageSource(ImageFolderSource):
    """A single image as a one-frame source."""

    kind = "image"

    def __init__(self, path: str | Path, *, fps: float = DEFAULT_IMAGE_FPS, name: str | None = None) -> None:
        self.path = Path(path)
        self.strict = True  # one image: nothing to skip to
        if not self.path.is_file():
            raise SourceError(f"image file not found: {self.path}; check the path")
        self._setup([self.path], fps, name or self.path.name)
