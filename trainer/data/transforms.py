"""Composable training transforms on dict samples (MMPose-style), numpy + OpenCV.

Each transform is a callable ``t(sample, rng) -> sample``. ``rng`` is a numpy Generator
that the caller seeds per sample (``SeededDataset``: seed, epoch, index), so a sample's
augmentation depends only on those three numbers: runs are reproducible whatever the
number of DataLoader workers or processes, and a resumed run sees the same data as an
uninterrupted one.

The top-down crop uses ``poselive.geometry`` (the same functions inference uses), so
training and inference cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import cv2
import numpy as np

from poselive import geometry
from poselive.codecs import build_codec
from poselive.errors import ConfigError
from poselive.keypoints import KeypointSet

Transform = Callable[[dict, np.random.Generator], dict]


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        for t in self.transforms:
            sample = t(sample, rng)
        return sample


class SeededDataset:
    """Wraps a dataset of raw samples; item ``(index, epoch)`` runs the pipeline with an
    RNG seeded by (seed, epoch, index). A plain int index means epoch 0."""

    def __init__(self, dataset: Any, pipeline: Transform, seed: int = 0) -> None:
        self.dataset = dataset
        self.pipeline = pipeline
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = (key, 0) if isinstance(key, (int, np.integer)) else key
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        return self.pipeline(self.dataset[int(index)], rng)


# ----------------------------------------------------------------------------- loading

class LoadImage:
    """Read ``image_path`` as BGR uint8 into ``image``; optionally cache decoded images
    (per process) for small datasets read many times (overfitting, tests)."""

    def __init__(self, cache: bool = False) -> None:
        self.cache = cache
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        path = sample["image_path"]
        img = self._cache.get(path)
        if img is None:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise ConfigError(f"cannot read image {path}; check the images folder of the dataset")
            if self.cache:
                self._cache[path] = img
        sample["image"] = img
        return sample


# ----------------------------------------------------------------------------- top-down

class GetBBoxCenterScale:
    """``bbox`` (xyxy) -> ``center`` and ``scale`` (w, h) enlarged by ``padding``."""

    def __init__(self, padding: float = 1.25) -> None:
        self.padding = padding

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        c, s = geometry.box_xyxy_to_center_scale(sample["bbox"][None], self.padding)
        sample["center"], sample["scale"] = c[0], s[0]
        sample.setdefault("rotation", 0.0)
        return sample


def split_upper_lower(kset: KeypointSet) -> tuple[list[int], list[int]]:
    """Indices of upper-body and lower-body keypoints, from the keypoint names."""
    lower_words = ("hip", "knee", "ankle", "heel", "toe", "foot")
    upper_words = ("nose", "eye", "ear", "shoulder", "elbow", "wrist", "neck", "head", "mouth")
    upper, lower = [], []
    for i, n in enumerate(kset.names):
        if any(w in n for w in lower_words):
            lower.append(i)
        elif any(w in n for w in upper_words):
            upper.append(i)
    return upper, lower


class RandomHalfBody:
    """With probability ``prob``, re-centre the box on the upper or lower body only."""

    def __init__(self, kset: KeypointSet, prob: float = 0.3, min_total: int = 8, min_part: int = 2,
                 padding: float = 1.5) -> None:
        self.upper, self.lower = split_upper_lower(kset)
        self.prob, self.min_total, self.min_part, self.padding = prob, min_total, min_part, padding

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        if rng.random() >= self.prob or not self.upper or not self.lower:
            return sample
        vis = sample["visible"] > 0
        if vis.sum() < self.min_total:
            return sample
        up = [i for i in self.upper if vis[i]]
        lo = [i for i in self.lower if vis[i]]
        part = up if (rng.random() < 0.5 and len(up) >= self.min_part) else lo
        if len(part) < self.min_part:
            part = up
        if len(part) < self.min_part:
            return sample
        pts = sample["keypoints"][part]
        lo_pt, hi_pt = pts.min(0), pts.max(0)
        sample["center"] = ((lo_pt + hi_pt) / 2).astype(np.float32)
        sample["scale"] = ((hi_pt - lo_pt) * self.padding).astype(np.float32)
        return sample


class RandomBBoxTransform:
    """Random shift (fraction of scale), scale factor and rotation (degrees) of the crop."""

    def __init__(self, shift_factor: float = 0.16, shift_prob: float = 0.3,
                 scale_range: tuple[float, float] = (0.75, 1.25), scale_prob: float = 1.0,
                 rotate_factor: float = 60.0, rotate_prob: float = 0.6) -> None:
        self.shift_factor, self.shift_prob = shift_factor, shift_prob
        self.scale_range, self.scale_prob = scale_range, scale_prob
        self.rotate_factor, self.rotate_prob = rotate_factor, rotate_prob

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        # Draw every random number unconditionally so the stream does not depend on branches.
        u = rng.random(3)
        shift = rng.uniform(-1, 1, 2) * self.shift_factor
        scale = rng.uniform(*self.scale_range)
        rot = float(np.clip(rng.normal() * self.rotate_factor, -2 * self.rotate_factor, 2 * self.rotate_factor))
        if u[0] < self.shift_prob:
            sample["center"] = (sample["center"] + shift * sample["scale"]).astype(np.float32)
        if u[1] < self.scale_prob:
            sample["scale"] = (sample["scale"] * scale).astype(np.float32)
        sample["rotation"] = rot if u[2] < self.rotate_prob else 0.0
        return sample


class TopdownAffine:
    """Crop the person to the model input (original image -> model input) and map the
    keypoints with the same matrix (``input_keypoints``)."""

    def __init__(self, input_size: Sequence[int], udp: bool = False) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.udp = udp

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        w, h = self.input_size
        scale = geometry.fix_aspect_ratio(sample["scale"][None], w / h)[0]
        rot = float(sample.get("rotation", 0.0))
        m = geometry.image_to_input_matrix(sample["center"], scale, self.input_size, rot, udp=self.udp)
        sample["image"] = geometry.crop_image_to_input(sample["image"], sample["center"], scale, self.input_size,
                                                       rot, udp=self.udp)
        sample["scale"] = scale
        sample["input_keypoints"] = geometry.apply_affine(sample["keypoints"], m).astype(np.float32)
        sample["matrix"] = m
        return sample


class RandomFlip:
    """Mirror the model input horizontally with probability ``prob``; keypoints follow and
    left/right partners swap (flip pairs of the keypoint set).

    Flipping the crop rather than the whole image is exact (a pixel permutation: input x
    becomes ``W - 1 - x``) and far cheaper.
    """

    def __init__(self, kset: KeypointSet, prob: float = 0.5) -> None:
        self.flip_index = kset.flip_index()
        self.prob = prob

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        if rng.random() >= self.prob:
            sample["flipped"] = False
            return sample
        return flip_input_sample(sample, self.flip_index)


def flip_input_sample(sample: dict, flip_index: np.ndarray) -> dict:
    """Mirror a cropped sample (image + ``input_keypoints`` + ``visible``) horizontally."""
    img = sample["image"]
    w = img.shape[1]
    sample["image"] = np.ascontiguousarray(img[:, ::-1])
    kp = sample["input_keypoints"].copy()
    kp[:, 0] = (w - 1) - kp[:, 0]
    sample["input_keypoints"] = kp[flip_index]
    sample["visible"] = sample["visible"][flip_index]
    sample["keypoints"] = sample["keypoints"][flip_index]
    sample["flipped"] = True
    return sample


# ----------------------------------------------------------------------------- photometric

class ColorJitter:
    """Random brightness, contrast, saturation and hue (each applied with ``prob``)."""

    def __init__(self, brightness: float = 32, contrast: tuple[float, float] = (0.7, 1.3),
                 saturation: tuple[float, float] = (0.7, 1.3), hue: float = 10, prob: float = 0.5) -> None:
        self.brightness, self.contrast, self.saturation, self.hue, self.prob = brightness, contrast, saturation, hue, prob

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        u = rng.random(4)
        b = rng.uniform(-self.brightness, self.brightness)
        c = rng.uniform(*self.contrast)
        s = rng.uniform(*self.saturation)
        hshift = rng.uniform(-self.hue, self.hue)
        if not (u < self.prob).any():
            return sample
        img = sample["image"].astype(np.float32)
        if u[0] < self.prob:
            img += b
        if u[1] < self.prob:
            img = (img - img.mean()) * c + img.mean()
        if u[2] < self.prob or u[3] < self.prob:
            hsv = cv2.cvtColor(img.clip(0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.float32)
            if u[2] < self.prob:
                hsv[..., 1] *= s
            if u[3] < self.prob:
                hsv[..., 0] = (hsv[..., 0] + hshift) % 180
            img = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
        sample["image"] = img.clip(0, 255).astype(np.uint8)
        return sample


class RandomBlur:
    """Gaussian blur with a random odd kernel (3..``max_kernel``) with probability ``prob``."""

    def __init__(self, prob: float = 0.1, max_kernel: int = 7) -> None:
        self.prob, self.max_kernel = prob, max_kernel

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        u = rng.random()
        k = int(rng.integers(1, self.max_kernel // 2 + 1)) * 2 + 1
        if u < self.prob:
            sample["image"] = cv2.GaussianBlur(sample["image"], (k, k), 0)
        return sample


class CoarseDropout:
    """Blank out up to ``max_holes`` random rectangles (up to ``max_size`` of each side)."""

    def __init__(self, prob: float = 0.5, max_holes: int = 1, max_size: float = 0.4, min_size: float = 0.2,
                 fill: int = 0) -> None:
        self.prob, self.max_holes, self.max_size, self.min_size, self.fill = prob, max_holes, max_size, min_size, fill

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        u = rng.random()
        n = int(rng.integers(1, self.max_holes + 1))
        boxes = rng.random((n, 4))
        if u >= self.prob:
            return sample
        img = sample["image"].copy()
        h, w = img.shape[:2]
        for fx, fy, fw, fh in boxes:
            bw = int(w * (self.min_size + fw * (self.max_size - self.min_size)))
            bh = int(h * (self.min_size + fh * (self.max_size - self.min_size)))
            x, y = int(fx * (w - bw)), int(fy * (h - bh))
            img[y:y + bh, x:x + bw] = self.fill
        sample["image"] = img
        return sample


# ----------------------------------------------------------------------------- targets, packing

class GenerateTarget:
    """Training targets from ``input_keypoints`` through the model's codec.

    Every array the codec returns becomes ``targets[name]`` ([K, ...]); its ``weights``
    ([K]) become ``weights``.
    """

    def __init__(self, codec: dict | Any) -> None:
        self.codec = build_codec(codec) if isinstance(codec, dict) else codec

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        enc = self.codec.encode(sample["input_keypoints"][None], sample["visible"][None])
        sample["weights"] = enc.pop("weights")[0].astype(np.float32)
        sample["targets"] = {k: v[0].astype(np.float32) for k, v in enc.items()}
        return sample


def normalize_image(img: np.ndarray, mean: Sequence[float], std: Sequence[float], channel_order: str = "rgb") -> np.ndarray:
    """BGR uint8 HWC -> float32 CHW normalised in the model's channel order."""
    if channel_order == "rgb":
        img = img[..., ::-1]
    x = (img.astype(np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


class PackPoseInputs:
    """Final step: ``inputs`` [3,H,W] float32, ``targets``, ``weights`` and a small ``meta``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], channel_order: str = "rgb") -> None:
        self.mean, self.std, self.channel_order = mean, std, channel_order

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        out = {"inputs": normalize_image(sample["image"], self.mean, self.std, self.channel_order),
               "meta": {"index": int(sample.get("index", -1)), "center": sample["center"].astype(np.float32),
                        "scale": sample["scale"].astype(np.float32)}}
        if "targets" in sample:
            out["targets"] = sample["targets"]
            out["weights"] = sample["weights"]
        return out


def uses_udp(spec: dict) -> bool:
    """Whether the spec's crops use unbiased data processing; the same rule as the
    pipeline's adapters (``poselive.stages.adapters.base.uses_udp``), checked by a test."""
    codec = spec.get("codec") or {}
    return bool(spec.get("udp") or codec.get("use_udp") or codec.get("type") in ("udp", "udp_heatmap"))


def build_pose_pipeline(spec: dict, kset: KeypointSet, aug: dict | None = None, train: bool = True,
                        cache_images: bool = False) -> Compose:
    """The standard top-down pipeline for a pose model spec; ``aug`` sets probabilities
    and ranges (keys: flip, half_body, shift, scale, rotate, color, blur, dropout)."""
    aug = dict(aug or {})
    input_size = tuple(spec["input_size"])
    udp = uses_udp(spec)
    steps: list[Transform] = [LoadImage(cache=cache_images), GetBBoxCenterScale(spec.get("box_padding", 1.25))]
    if train:
        if aug.get("half_body", 0.0) > 0:
            steps.append(RandomHalfBody(kset, prob=aug["half_body"]))
        steps.append(RandomBBoxTransform(shift_factor=aug.get("shift", 0.16), shift_prob=aug.get("shift_prob", 0.3),
                                         scale_range=tuple(aug.get("scale", (0.75, 1.25))),
                                         rotate_factor=aug.get("rotate", 60.0), rotate_prob=aug.get("rotate_prob", 0.6)))
    steps.append(TopdownAffine(input_size, udp=udp))
    if train:
        if aug.get("flip", 0.5) > 0:
            steps.append(RandomFlip(kset, prob=aug.get("flip", 0.5)))
        if aug.get("color", 0.5) > 0:
            steps.append(ColorJitter(prob=aug.get("color", 0.5)))
        if aug.get("blur", 0.1) > 0:
            steps.append(RandomBlur(prob=aug.get("blur", 0.1)))
        if aug.get("dropout", 0.0) > 0:
            steps.append(CoarseDropout(prob=aug["dropout"]))
        steps.append(GenerateTarget(spec["codec"]))
    steps.append(PackPoseInputs(spec.get("mean", (123.675, 116.28, 103.53)), spec.get("std", (58.395, 57.12, 57.375)),
                                spec.get("channel_order", "rgb")))
    return Compose(steps)

