"""Real model inputs for validation and INT8 calibration, and the TensorRT calibrator.

Inputs are made the way the pipeline makes them (``poselive.geometry`` crops and
letterboxes, the spec's mean/std and channel order), from real images:

- pose models: person crops from the boxes of a COCO annotation file (the
  ``person_keypoints_*.json`` / ``instances_*.json`` beside the image folder, as in
  ``coco-mini``), or, for a folder of images without annotations, a centred box of
  each whole image;
- detectors: each image letterboxed to the input size.

Without images, ``synthetic_image`` draws a fixed scene (a gradient with two figures)
so validation still runs on something image-like rather than on noise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from poselive import geometry
from poselive.errors import ConfigError, ModelError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)


def normalize_batch(batch_bgr: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Uint8 BGR images [N,H,W,3] -> the model's input layout (float NCHW or uint8 NHWC)."""
    x = np.asarray(batch_bgr)
    if spec.get("channel_order", "rgb") == "rgb":
        x = x[..., ::-1]
    if spec.get("input_format", "float_nchw") == "uint8_nhwc":
        # Normalisation is folded into the graph: feed the raw pixels.
        return np.ascontiguousarray(x, dtype=np.uint8)
    mean = np.asarray(spec.get("mean", DEFAULT_MEAN), np.float32)
    std = np.asarray(spec.get("std", DEFAULT_STD), np.float32)
    x = (x.astype(np.float32) - mean) / std
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def synthetic_image(width: int = 640, height: int = 480) -> np.ndarray:
    """A deterministic BGR test scene: a gradient background and two stick figures."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([xx / width * 200, yy / height * 180, (xx + yy) / (width + height) * 255], -1)
    img = img.astype(np.uint8)
    for cx, s in ((0.3, 1.0), (0.7, 0.8)):
        x0, h = int(cx * width), int(0.7 * height * s)
        top = int(0.15 * height)
        cv2.circle(img, (x0, top + h // 10), max(4, h // 10), (60, 120, 230), -1)
        cv2.line(img, (x0, top + h // 5), (x0, top + 3 * h // 5), (240, 240, 240), max(2, h // 25))
        for dx in (-1, 1):
            cv2.line(img, (x0, top + h // 4), (x0 + dx * h // 5, top + h // 2), (30, 200, 30), max(2, h // 30))
            cv2.line(img, (x0, top + 3 * h // 5), (x0 + dx * h // 6, top + h), (200, 40, 40), max(2, h // 30))
    return img


def synthetic_person_boxes(width: int = 640, height: int = 480) -> np.ndarray:
    """Boxes [2,4] xyxy around the figures of ``synthetic_image``."""
    boxes = []
    for cx, s in ((0.3, 1.0), (0.7, 0.8)):
        h = 0.7 * height * s
        top = 0.15 * height
        boxes.append([cx * width - h / 4, top - 0.02 * height, cx * width + h / 4, top + h + 0.02 * height])
    return np.asarray(boxes, np.float32)


def list_images(image_dir: str | Path) -> list[Path]:
    """Image files in a folder, sorted by name."""
    d = Path(image_dir)
    if not d.is_dir():
        raise ConfigError(f"image folder {d} does not exist; pass a folder of .jpg/.png images")
    return sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def find_coco_annotations(image_dir: str | Path) -> Path | None:
    """COCO json for a ``<root>/<split>`` image folder: ``<root>/annotations/*_<split>.json``."""
    d = Path(image_dir)
    ann = d.parent / "annotations"
    for name in (f"person_keypoints_{d.name}.json", f"instances_{d.name}.json"):
        if (ann / name).is_file():
            return ann / name
    return None


def coco_person_boxes(annotation_file: str | Path, min_size: float = 16.0) -> dict[str, np.ndarray]:
    """Non-crowd person boxes (xyxy) by image file name from a COCO annotation file."""
    data = json.loads(Path(annotation_file).read_text())
    names = {im["id"]: im["file_name"] for im in data.get("images", [])}
    out: dict[str, list[list[float]]] = {}
    for a in data.get("annotations", []):
        if a.get("category_id", 1) != 1 or a.get("iscrowd", 0):
            continue
        x, y, w, h = a["bbox"]
        if w < min_size or h < min_size:
            continue
        out.setdefault(names.get(a["image_id"], ""), []).append([x, y, x + w, y + h])
    return {k: np.asarray(v, np.float32) for k, v in out.items() if k}


def crops_from_boxes(image: np.ndarray, boxes: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Top-down person crops [N,H,W,3] (BGR uint8) as the pose stage makes them."""
    w, h = spec.get("input_size", (192, 256))
    center, scale = geometry.box_xyxy_to_center_scale(boxes, spec.get("box_padding", 1.25))
    scale = geometry.fix_aspect_ratio(scale, w / h)
    return geometry.crop_batch(image, center, scale, (int(w), int(h)))


def pose_crops(spec: dict[str, Any], image_dir: str | Path | None = None,
               annotations: str | Path | None = None, limit: int = 64) -> np.ndarray:
    """Up to ``limit`` person crops [N,H,W,3] BGR uint8 from real images (or the synthetic one)."""
    if image_dir is None:
        img = synthetic_image()
        return crops_from_boxes(img, synthetic_person_boxes(), spec)
    ann = Path(annotations) if annotations else find_coco_annotations(image_dir)
    boxes_by_name = coco_person_boxes(ann) if ann else {}
    crops: list[np.ndarray] = []
    for path in list_images(image_dir):
        if sum(len(c) for c in crops) >= limit:
            break
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            continue
        if ann:
            boxes = boxes_by_name.get(path.name)
            if boxes is None:
                continue
        else:
            # No annotations: the centre of the image stands in for a person box.
            hh, ww = img.shape[:2]
            boxes = np.asarray([[ww * 0.25, hh * 0.05, ww * 0.75, hh * 0.95]], np.float32)
        crops.append(crops_from_boxes(img, boxes, spec))
    if not crops:
        raise ConfigError(f"no usable images (with person boxes) in {image_dir}; "
                          "pass a folder of images, with a COCO annotation file if it has one")
    return np.concatenate(crops)[:limit]


def detector_images(spec: dict[str, Any], image_dir: str | Path | None = None, limit: int = 16) -> np.ndarray:
    """Up to ``limit`` letterboxed images [N,H,W,3] BGR uint8 at the detector's input size."""
    size = tuple(int(v) for v in spec.get("input_size", (320, 320)))
    pad = int(spec.get("pad_value", 114))
    centered = spec.get("letterbox", "topleft") == "center"
    if image_dir is None:
        images = [synthetic_image()]
    else:
        images = [im for p in list_images(image_dir)[:limit]
                  if (im := cv2.imread(str(p), cv2.IMREAD_COLOR)) is not None]
        if not images:
            raise ConfigError(f"no readable images in {image_dir}; pass a folder of .jpg/.png images")
    return np.stack([geometry.letterbox(im, size, pad, centered)[0] for im in images])


def model_inputs(spec: dict[str, Any], image_dir: str | Path | None = None,
                 annotations: str | Path | None = None, limit: int = 64) -> np.ndarray:
    """Preprocessed real inputs for a model (pose crops or detector images), ready to feed."""
    if spec.get("task", "pose") == "detector":
        raw = detector_images(spec, image_dir, limit)
    else:
        raw = pose_crops(spec, image_dir, annotations, limit)
    return normalize_batch(raw, spec)


class CalibrationBatches:
    """Fixed-size batches over preprocessed inputs [N,...] for INT8 calibration.

    TensorRT asks for exactly ``batch_size`` samples per call. A last partial batch is
    completed with samples from the start of the data (wrapping around), so every real
    sample is seen once and the few repeats come from the same distribution; zero
    padding would skew the activation histograms towards 0.
    """

    def __init__(self, data: np.ndarray, batch_size: int) -> None:
        if batch_size < 1:
            raise ConfigError("calibration batch size must be at least 1")
        data = np.ascontiguousarray(data)
        if len(data) == 0:
            raise ConfigError("no calibration data: pass --calib-data DIR with images of people")
        self.data = data
        self.batch_size = int(batch_size)

    def __len__(self) -> int:
        return -(-len(self.data) // self.batch_size)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one batch."""
        return (self.batch_size, *self.data.shape[1:])

    def __iter__(self) -> Iterator[np.ndarray]:
        n, b = len(self.data), self.batch_size
        for start in range(0, n, b):
            idx = np.arange(start, start + b) % n
            yield self.data[idx]


def make_calibrator(trt: Any, batches: CalibrationBatches, cache_path: str | Path | None,
                    memory: Any, input_name: str) -> Any:
    """An ``IInt8EntropyCalibrator2`` that feeds ``batches`` through a device buffer.

    ``memory`` is the device-memory helper of the TensorRT backend (``alloc``, ``upload``,
    ``ptr``, ``synchronize``). The calibration table is read from / written to
    ``cache_path`` so a rebuild of the same model skips calibration.
    """
    base = trt.IInt8EntropyCalibrator2
    cache_file = Path(cache_path) if cache_path else None

    class EntropyCalibrator(base):  # type: ignore[misc, valid-type]
        """Feeds real crops to TensorRT's entropy calibration, one fixed-size batch a call."""

        def __init__(self) -> None:
            base.__init__(self)  # pybind11 needs the base initialised explicitly
            self.batches = batches
            self._iter = iter(batches)
            self._buffer = memory.alloc(batches.shape, batches.data.dtype)
            self.batches_served = 0

        def get_batch_size(self) -> int:
            return batches.batch_size

        def get_batch(self, names: list[str]) -> list[int] | None:
            if input_name not in names:
                raise ModelError(f"calibration feeds input '{input_name}' but TensorRT asks for {names}")
            try:
                batch = next(self._iter)
            except StopIteration:
                return None  # tells TensorRT that calibration is finished
            memory.upload(self._buffer, batch)
            memory.synchronize()
            self.batches_served += 1
            return [memory.ptr(self._buffer)]

        def read_calibration_cache(self) -> bytes | None:
            if cache_file is not None and cache_file.is_file():
                return cache_file.read_bytes()
            return None

        def write_calibration_cache(self, cache: Any) -> None:
            if cache_file is not None:
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                cache_file.write_bytes(bytes(cache))

    return EntropyCalibrator()
