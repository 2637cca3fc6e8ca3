"""Content hashes of images and the guard that keeps evaluation images out of training.

Two hashes per image: sha1 of the file's bytes and sha1 of the decoded BGR pixels (with
their shape). The pixel hash catches the same image saved under another name or in
another container (PNG of a JPEG's pixels); the byte hash catches a file that decodes
differently across OpenCV builds. Either one matching is enough to exclude.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from poselive.errors import ConfigError, PoseliveError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class EvalLeakError(PoseliveError):
    """An evaluation image reached a training set."""


def sha1_bytes(data: bytes) -> str:
    """Hex sha1 of raw bytes."""
    return hashlib.sha1(data).hexdigest()


def pixel_sha1(image: np.ndarray) -> str:
    """Hex sha1 of decoded pixels; the shape is hashed too so reshaped buffers differ."""
    h = hashlib.sha1(repr(tuple(image.shape)).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def decode_image(data: bytes) -> np.ndarray | None:
    """BGR uint8 image from encoded bytes (None when they do not decode)."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def image_hashes(path: str | Path) -> tuple[str, str | None, np.ndarray | None]:
    """(file sha1, pixel sha1 or None, decoded image or None) of one image file."""
    data = Path(path).read_bytes()
    image = decode_image(data)
    return sha1_bytes(data), (pixel_sha1(image) if image is not None else None), image


def list_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Image files under ``root`` (a folder, or one image file), sorted."""
    root = Path(root)
    if root.is_file():
        return [root] if root.suffix.lower() in IMAGE_SUFFIXES else []
    if not root.is_dir():
        raise ConfigError(f"image folder not found: {root}; check the path")
    pattern = root.rglob("*") if recursive else root.glob("*")
    return sorted(p for p in pattern if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def list_videos(root: str | Path) -> list[Path]:
    """Video files under ``root`` (a folder, or one video file), sorted."""
    root = Path(root)
    if root.is_file():
        return [root] if root.suffix.lower() in VIDEO_SUFFIXES else []
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


@dataclass
class ExclusionSet:
    """Hashes of images that must never be trained on (evaluation images)."""

    file_hashes: dict[str, str] = field(default_factory=dict)  # sha1 -> the eval file
    pixel_hashes: dict[str, str] = field(default_factory=dict)
    shapes: set[tuple[int, ...]] = field(default_factory=set)  # decoded shapes of the images

    @classmethod
    def from_dirs(cls, dirs: Iterable[str | Path]) -> "ExclusionSet":
        """Hash every image under the given folders."""
        out = cls()
        for d in dirs:
            for p in list_images(d):
                fh, ph, image = image_hashes(p)
                out.file_hashes[fh] = str(p)
                if ph is not None:
                    out.pixel_hashes[ph] = str(p)
                    out.shapes.add(tuple(image.shape))
        return out

    def __len__(self) -> int:
        return len(set(self.file_hashes.values()) | set(self.pixel_hashes.values()))

    def match(self, file_hash: str | None, pixel_hash: str | None) -> str | None:
        """The excluded file that these hashes belong to, or None."""
        if file_hash is not None and file_hash in self.file_hashes:
            return self.file_hashes[file_hash]
        if pixel_hash is not None and pixel_hash in self.pixel_hashes:
            return self.pixel_hashes[pixel_hash]
        return None


def default_exclude_dirs(shared: str | Path | None) -> list[Path]:
    """``coco-mini/val2017`` of the shared folder, when it exists."""
    if shared is None:
        return []
    d = Path(shared) / "data" / "coco-mini" / "val2017"
    return [d] if d.is_dir() else []


def _video_frames(path: Path, shapes: set[tuple[int, ...]]) -> Iterator[tuple[str, np.ndarray]]:
    import av

    from poselive.sources.video_file import VideoFileSource

    with av.open(str(path)) as c:
        ctx = c.streams.video[0].codec_context
        shape = (int(ctx.height), int(ctx.width), 3)
    if shape not in shapes:
        return  # no frame of this size can have an evaluation image's pixels: skip decoding
    with VideoFileSource(path) as src:
        for pkt in src:
            yield f"{path}#frame={pkt.index}", pkt.image


def _training_items(train: Path, image_root: Path | None,
                    shapes: set[tuple[int, ...]]) -> Iterator[tuple[str, bytes | None, np.ndarray | None]]:
    """(name, file bytes or None, pixels or None) of every training image (and video frame)."""
    if train.is_file() and train.suffix.lower() == ".json":
        coco = json.loads(train.read_text())
        root = image_root if image_root is not None else train.parent
        for im in coco.get("images", []):
            p = root / im["file_name"]  # an absolute file_name replaces the root
            if not p.is_file():
                raise ConfigError(f"{train} lists {im['file_name']} but {p} does not exist; "
                                  "pass image_root= the folder the file names are relative to")
            data = p.read_bytes()
            yield str(p), data, None
        return
    for p in list_images(train):
        yield str(p), p.read_bytes(), None
    for v in list_videos(train):
        for name, frame in _video_frames(v, shapes):
            yield name, None, frame


def find_overlap(train_json_or_dir: str | Path, eval_dir: str | Path | ExclusionSet,
                 image_root: str | Path | None = None) -> list[tuple[str, str]]:
    """(training item, evaluation image) pairs with the same file bytes or decoded pixels.

    ``train_json_or_dir`` is a COCO json (its ``file_name`` entries are read relative to
    ``image_root``, by default the json's folder) or a folder of images and videos (every
    video frame is compared). An empty list proves there is no exact overlap.
    """
    excl = eval_dir if isinstance(eval_dir, ExclusionSet) else ExclusionSet.from_dirs([eval_dir])
    # Pixel hashes include the shape, so only images of an eval image's size need hashing.
    eval_shapes = excl.shapes
    root = Path(image_root) if image_root is not None else None
    hits: list[tuple[str, str]] = []
    for name, data, pixels in _training_items(Path(train_json_or_dir), root, eval_shapes):
        fh = sha1_bytes(data) if data is not None else None
        if pixels is None and data is not None:
            pixels = decode_image(data)
        ph = pixel_sha1(pixels) if pixels is not None and pixels.shape in eval_shapes else None
        hit = excl.match(fh, ph)
        if hit is not None:
            hits.append((name, hit))
    return hits
