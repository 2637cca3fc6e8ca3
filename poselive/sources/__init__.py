"""Frame sources: video files, webcams, RTSP streams, image folders and single images.

``open_source(spec, **options)`` picks the kind from the spec; ``SOURCES`` maps each
kind's name to the class that builds it (add a kind with one new file and one line here).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from poselive.errors import ConfigError, SourceError
from poselive.sources.base import IMAGE_EXTENSIONS, Source, is_image_path
from poselive.sources.images import ImageFolderSource, ImageSource
from poselive.sources.latest import LatestFrameReader, LiveFrame
from poselive.sources.rtsp import RTSPSource
from poselive.sources.video_file import VideoFileSource
from poselive.sources.webcam import WebcamSource

SOURCES: dict[str, type[Source]] = {
    "video": VideoFileSource,
    "webcam": WebcamSource,
    "rtsp": RTSPSource,
    "folder": ImageFolderSource,
    "image": ImageSource,
}


def source_kind(spec: str | int | Path) -> str:
    """The SOURCES key that open_source would use for this spec."""
    if isinstance(spec, bool):
        raise ConfigError(f"not a source: {spec!r}; give a path, URL or camera index")
    if isinstance(spec, int):
        return "webcam"
    text = str(spec).strip()
    if text.isdigit() or text.startswith("/dev/video"):
        return "webcam"
    if text.lower().startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if Path(text).is_dir():
        return "folder"
    if is_image_path(text):
        return "image"
    return "video"  # files and other URLs FFmpeg understands (http, hls, ...)


def open_source(spec: str | int | Path, **options: Any) -> Source:
    """Open a frame source: camera index, rtsp:// URL, image folder, image or video file.

    ``options`` go to the source class (e.g. ``transport="udp"`` for RTSP, ``width=1280``
    for a webcam, ``fps=5`` for a folder); ``kind=`` forces a kind from SOURCES.
    """
    kind = options.pop("kind", None) or source_kind(spec)
    if kind not in SOURCES:
        raise ConfigError(f"unknown source kind {kind!r}; known kinds: {', '.join(SOURCES)}")
    cls = SOURCES[kind]
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(options) - set(params) - {"self"})
    if unknown:
        allowed = [p for p in params if p not in ("self",)][1:]
        raise ConfigError(
            f"{kind} source does not take option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(allowed) or 'none'}"
        )
    if kind == "webcam" and not isinstance(spec, int):
        text = str(spec).strip()
        spec = int(text) if text.isdigit() else text
    elif not isinstance(spec, int):
        spec = str(spec).strip()
    return cls(spec, **options)


__all__ = [
    "IMAGE_EXTENSIONS",
    "SOURCES",
    "ImageFolderSource",
    "ImageSource",
    "LatestFrameReader",
    "LiveFrame",
    "RTSPSource",
    "Source",
    "SourceError",
    "VideoFileSource",
    "WebcamSource",
    "open_source",
    "source_kind",
]
