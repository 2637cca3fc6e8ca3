"""Detector augmentation on dict samples (``image`` BGR, ``boxes`` [M,4] xyxy pixels).

Same calling convention as ``trainer.data.transforms``: ``t(sample, rng) -> sample``, with
an RNG seeded per (seed, epoch, index). The final image is a top-left letterbox of the
model's input size (pad value 114), the layout the detector adapters use at inference.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from poselive import geometry
from trainer.data.datasets import load_image_and_boxes
from trainer.data.transforms import ColorJitter, Compose, normalize_image

PAD = 114


def _filter_boxes(boxes: np.ndarray, w: int, h: int, min_size: float = 2.0) -> np.ndarray:
    """Clip boxes to the image and drop those left thinner than ``min_size`` px."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
    keep = ((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size)
    return b[keep]


def paint_ignore(sample: dict) -> dict:
    """Grey out (pad value) the sample's ``ignore`` regions where no person box covers them.

    Ignore regions are crowds and uncertain pseudo-label boxes: neither persons to learn nor
    background. The training targets carry no ignore mask, so the pixels are removed instead
    and the detector is taught nothing there. Pixels inside a person box are kept.
    """
    ignore = np.asarray(sample.get("ignore", np.zeros((0, 4))), np.float32).reshape(-1, 4)
    if not len(ignore):
        return sample
    img = sample["image"]
    h, w = img.shape[:2]
    mask = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in np.round(_filter_boxes(ignore, w, h, 1.0)).astype(int):
        mask[y1:y2, x1:x2] = True
    for x1, y1, x2, y2 in np.round(_filter_boxes(sample["boxes"], w, h, 1.0)).astype(int):
        mask[y1:y2, x1:x2] = False
    if mask.any():
        img = img.copy()
        img[mask] = PAD
        sample["image"] = img
    return sample


def _load(sample: dict, paint: bool) -> dict:
    sample = load_image_and_boxes(sample)
    return paint_ignore(sample) if paint else sample


class LoadDetSample:
    """Read the image and make the boxes pixel xyxy (YOLO labels are normalised); with
    ``paint_ignore=True``, also grey out the sample's ignore regions (see ``paint_ignore``)."""

    def __init__(self, paint_ignore: bool = False) -> None:
        self.paint_ignore = paint_ignore

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        return _load(sample, self.paint_ignore)


class Mosaic:
    """With ``prob``, tile this image and three random others 2x2 about a random centre
    and crop the model's input size out of it (YOLOX/RTMDet's mosaic)."""

    def __init__(self, dataset: Any, input_size: Sequence[int], prob: float = 0.5, paint_ignore: bool = False) -> None:
        self.dataset, self.input_size, self.prob = dataset, (int(input_size[0]), int(input_size[1])), prob
        self.paint_ignore = paint_ignore

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        u = rng.random()
        others = rng.integers(0, len(self.dataset), 3)
        cx, cy = rng.uniform(0.5, 1.5, 2)
        if u >= self.prob:
            return sample
        w, h = self.input_size
        canvas = np.full((2 * h, 2 * w, 3), PAD, np.uint8)
        xc, yc = int(cx * w), int(cy * h)
        all_boxes = []
        for i, s in enumerate([sample] + [_load(dict(self.dataset.items[int(j)]), self.paint_ignore) for j in others]):
            img, boxes = s["image"], np.asarray(s["boxes"], np.float32).reshape(-1, 4)
            r = min(w / img.shape[1], h / img.shape[0])
            img = cv2.resize(img, (max(1, int(img.shape[1] * r)), max(1, int(img.shape[0] * r))))
            ih, iw = img.shape[:2]
            # quadrant i touches the mosaic centre with its inner corner
            x0 = xc - iw if i in (0, 2) else xc
            y0 = yc - ih if i in (0, 1) else yc
            cx0, cy0 = max(x0, 0), max(y0, 0)
            cx1, cy1 = min(x0 + iw, 2 * w), min(y0 + ih, 2 * h)
            canvas[cy0:cy1, cx0:cx1] = img[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
            all_boxes.append(boxes * r + np.array([x0, y0, x0, y0], np.float32))
        boxes = _filter_boxes(np.concatenate(all_boxes), 2 * w, 2 * h)
        # crop the input-sized window about the centre
        ox, oy = int(np.clip(xc - w // 2, 0, w)), int(np.clip(yc - h // 2, 0, h))
        sample["image"] = canvas[oy:oy + h, ox:ox + w].copy()
        sample["boxes"] = _filter_boxes(boxes - np.array([ox, oy, ox, oy], np.float32), w, h)
        sample["mosaic"] = True
        return sample


class RandomResizeCrop:
    """Letterbox-resize to the input size times a random factor, then crop or pad to the
    input (top-left anchored when padding, a random window when cropping)."""

    def __init__(self, input_size: Sequence[int], scale_range: tuple[float, float] = (0.5, 1.5)) -> None:
        self.input_size, self.scale_range = (int(input_size[0]), int(input_size[1])), scale_range

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        factor = rng.uniform(*self.scale_range)
        fx, fy = rng.random(2)
        w, h = self.input_size
        img = sample["image"]
        r = min(w / img.shape[1], h / img.shape[0]) * factor
        nw, nh = max(1, int(round(img.shape[1] * r))), max(1, int(round(img.shape[0] * r)))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        ox, oy = int(fx * max(nw - w, 0)), int(fy * max(nh - h, 0))
        out = np.full((h, w, 3), PAD, np.uint8)
        crop = img[oy:oy + h, ox:ox + w]
        out[:crop.shape[0], :crop.shape[1]] = crop
        boxes = np.asarray(sample["boxes"], np.float32).reshape(-1, 4) * r - np.array([ox, oy, ox, oy], np.float32)
        sample["image"], sample["boxes"] = out, _filter_boxes(boxes, w, h)
        return sample


class DetRandomFlip:
    """Mirror image and boxes horizontally with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        if rng.random() >= self.prob:
            return sample
        w = sample["image"].shape[1]
        sample["image"] = np.ascontiguousarray(sample["image"][:, ::-1])
        b = np.asarray(sample["boxes"], np.float32).reshape(-1, 4).copy()
        b[:, [0, 2]] = w - b[:, [2, 0]]  # box edges are continuous coordinates
        sample["boxes"] = b
        return sample


class DetLetterbox:
    """Resize keeping the aspect ratio and pad to the input, top-left (evaluation)."""

    def __init__(self, input_size: Sequence[int]) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        img, ratio, _ = geometry.letterbox(sample["image"], self.input_size, PAD)
        sample["ratio"] = float(ratio)
        sample["boxes"] = _filter_boxes(np.asarray(sample["boxes"], np.float32).reshape(-1, 4) * ratio,
                                        *self.input_size, min_size=0.0)
        sample["image"] = img
        return sample


class PackDetInputs:
    """``inputs`` [3,H,W] float32 and ``boxes`` [M,4] float32 (input px)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], channel_order: str = "rgb") -> None:
        self.mean, self.std, self.channel_order = mean, std, channel_order

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        return {"inputs": normalize_image(sample["image"], self.mean, self.std, self.channel_order),
                "boxes": np.asarray(sample["boxes"], np.float32).reshape(-1, 4),
                "meta": {"index": int(sample.get("index", -1)), "ratio": float(sample.get("ratio", 1.0))}}


def collate_detection(batch: list[dict]) -> dict:
    """Stack inputs; keep the per-image box arrays as a list of tensors (counts differ)."""
    import torch

    return {"inputs": torch.from_numpy(np.stack([b["inputs"] for b in batch])),
            "boxes": [torch.from_numpy(b["boxes"]) for b in batch],
            "meta": [b["meta"] for b in batch]}


def build_detector_pipeline(spec: dict, dataset: Any, aug: dict | None = None, train: bool = True) -> Compose:
    """The standard detector pipeline for a spec; ``aug`` keys: mosaic, scale, flip, color,
    paint_ignore (default true: grey out ignore regions in training images)."""
    aug = dict(aug or {})
    size = tuple(spec["input_size"])
    paint = bool(aug.get("paint_ignore", True)) and train
    steps: list = [LoadDetSample(paint)]
    if train:
        if aug.get("mosaic", 0.5) > 0:
            steps.append(Mosaic(dataset, size, prob=aug.get("mosaic", 0.5), paint_ignore=paint))
        steps.append(RandomResizeCrop(size, tuple(aug.get("scale", (0.5, 1.5)))))
        if aug.get("flip", 0.5) > 0:
            steps.append(DetRandomFlip(aug.get("flip", 0.5)))
        if aug.get("color", 0.5) > 0:
            steps.append(ColorJitter(prob=aug.get("color", 0.5)))
    else:
        steps.append(DetLetterbox(size))
    steps.append(PackDetInputs(spec.get("mean", (123.675, 116.28, 103.53)), spec.get("std", (58.395, 57.12, 57.375)),
                               spec.get("channel_order", "rgb")))
    return Compose(steps)
