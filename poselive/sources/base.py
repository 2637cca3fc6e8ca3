"""What every frame source provides, and helpers the source kinds share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from poselive.types import FramePacket

#: File name extensions read as still images (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


class Source:
    """A stream of frames: iterate for FramePackets, close() to stop (from any thread).

    Attributes every source sets: ``name``; ``is_live`` (True for cameras and network
    streams, whose frames may be dropped by the graph's ``latest`` policy); ``fps`` and
    ``size`` (width, height) when known, else None; ``info``, a dict that describes the
    source (always has ``"kind"``).
    """

    name: str = "source"
    is_live: bool = False
    fps: float | None = None
    size: tuple[int, int] | None = None
    info: dict[str, Any]

    def __iter__(self) -> Iterator[FramePacket]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the source; a blocked iteration in another thread ends soon after."""

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, fps={self.fps}, size={self.size})"


def is_image_path(path: str | Path) -> bool:
    """True when the path's extension is one of IMAGE_EXTENSIONS."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def natural_key(name: str) -> list[Any]:
    """Sort key that orders embedded numbers by value: frame2 before frame10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def redact_url(url: str) -> str:
    """The URL with any password replaced by '***', safe to print in messages."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)
