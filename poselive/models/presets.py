"""Model specs: named presets and helpers that build consistent specs."""

from __future__ import annotations

import copy
from typing import Any, Sequence

from poselive.errors import ConfigError

IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]

# RTMPose sizes: backbone size name and CSPNeXt (deepen, widen) factors.
POSE_SIZES = {"t": ("tiny", 0.167, 0.375), "s": ("small", 0.33, 0.5), "m": ("medium", 0.67, 0.75)}


def pose_spec(size: str = "t", keypoint_set: str = "coco17", input_size: Sequence[int] = (192, 256),
              head: str = "rtmcc", split_ratio: float = 2.0, sigma: Sequence[float] | None = None,
              heatmap_channels: Sequence[int] = (128, 64, 64), name: str | None = None) -> dict[str, Any]:
    """A complete pose-model spec (CSPNeXt + RTMCC or heatmap head) with a matching codec."""
    from poselive.keypoints import get_keypoint_set

    if size not in POSE_SIZES:
        raise ConfigError(f"unknown pose size '{size}'; known: {', '.join(POSE_SIZES)}")
    label, deepen, widen = POSE_SIZES[size]
    kset = get_keypoint_set(keypoint_set)
    w, h = int(input_size[0]), int(input_size[1])
    if w % 32 or h % 32:
        raise ConfigError(f"pose input size {w}x{h} must be a multiple of 32 on both sides")
    backbone = {"type": "cspnext", "size": label, "deepen_factor": deepen, "widen_factor": widen,
                "out_indices": [4]}
    if head == "rtmcc":
        # RTMPose's sigmas at 192x256, scaled with the input size.
        sig = list(sigma) if sigma is not None else [round(4.9 * w / 192, 3), round(5.66 * h / 256, 3)]
        head_cfg = {"type": "rtmcc", "num_keypoints": kset.num_keypoints, "input_size": [w, h],
                    "in_featuremap_size": [w // 32, h // 32], "split_ratio": float(split_ratio),
                    "final_kernel": 7, "hidden_dims": 256, "gau_s": 128, "gau_expansion": 2.0}
        codec = {"type": "simcc", "input_size": [w, h], "split_ratio": float(split_ratio),
                 "sigma": sig, "label_smooth_weight": 0.0, "normalize": False}
        outputs = ["simcc_x", "simcc_y"]
    elif head == "heatmap":
        up = 2 ** len(heatmap_channels)
        head_cfg = {"type": "heatmap", "num_keypoints": kset.num_keypoints,
                    "deconv_channels": [int(c) for c in heatmap_channels]}
        codec = {"type": "udp_heatmap", "input_size": [w, h],
                 "heatmap_size": [w // 32 * up, h // 32 * up], "sigma": 2.0,
                 "refine": "dark", "unbiased": True}
        outputs = ["heatmaps"]
    else:
        raise ConfigError(f"unknown pose head '{head}'; use 'rtmcc' or 'heatmap'")
    return {
        "task": "pose",
        "name": name or f"poselive-pose-{size}" + ("" if head == "rtmcc" else "-hm"),
        "arch": {"type": "topdown", "backbone": backbone, "head": head_cfg},
        "keypoint_set": kset.name,
        "input_size": [w, h],
        "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
        "channel_order": "rgb",
        "input_format": "float_nchw",
        "codec": codec,
        "box_padding": 1.25,
        "outputs": outputs,
        "provenance": {},
    }


# MoveNet SinglePose variants: (square input size, backbone width multiplier).
MOVENET_VARIANTS = {"lightning": (192, 1.0), "thunder": (256, 1.75)}


def movenet_spec(variant: str = "lightning", name: str | None = None,
                 box_padding: float = 1.0) -> dict[str, Any]:
    """A MoveNet SinglePose spec: MobileNetV2 (TF padding, folded BN) + FPN + CenterNet heads,
    decoded by the ``movenet`` codec on a square crop.

    ``box_padding`` 1.0 (a square around the box's longer side) was chosen on
    coco-mini/train2017 with ground-truth boxes (benchmarks/crop_padding.py): it beats the
    1.25 enlargement usually fed to MoveNet for both variants; see docs/default-models.md.
    """
    if variant not in MOVENET_VARIANTS:
        raise ConfigError(f"unknown MoveNet variant '{variant}'; known: {', '.join(MOVENET_VARIANTS)}")
    size, width = MOVENET_VARIANTS[variant]
    return {
        "task": "pose",
        "name": name or f"movenet-{variant}",
        "arch": {"type": "topdown",
                 "backbone": {"type": "mobilenetv2", "widen_factor": width, "last_channels": 1280,
                              "out_indices": [2, 5, 9, 17]},
                 "neck": {"type": "movenet_fpn", "channels": [64, 32, 24, 24]},
                 "head": {"type": "centernet", "num_keypoints": 17, "hidden": 96}},
        "keypoint_set": "coco17",
        "input_size": [size, size],
        # MoveNet scales RGB 0..255 to [-1, 1].
        "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5],
        "channel_order": "rgb",
        "input_format": "float_nchw",
        "codec": {"type": "movenet", "input_size": [size, size], "heatmap_size": [size // 4, size // 4],
                  "center_bias": 1.8, "keypoint_bias": 1.8, "sigma": 1.5, "center_sigma": 2.0},
        "box_padding": float(box_padding),
        "outputs": ["center_heatmap", "keypoint_heatmaps", "keypoint_regression", "keypoint_offsets"],
        "provenance": {},
    }


def detector_spec(input_size: Sequence[int] = (320, 320), name: str = "poselive-det-nano") -> dict[str, Any]:
    """A complete RTMDet-nano-sized one-class person detector spec."""
    w, h = int(input_size[0]), int(input_size[1])
    if w % 32 or h % 32:
        raise ConfigError(f"detector input size {w}x{h} must be a multiple of 32 on both sides")
    return {
        "task": "detector",
        "name": name,
        "arch": {
            "type": "detector",
            "backbone": {"type": "cspnext", "size": "nano", "deepen_factor": 0.33, "widen_factor": 0.25,
                         "out_indices": [2, 3, 4], "depthwise": True},
            "neck": {"type": "cspnext_pafpn", "out_channels": 64, "num_csp_blocks": 1, "depthwise": True},
            "head": {"type": "rtmdet_sepbn", "feat_channels": 64, "num_classes": 1, "stacked_convs": 2,
                     "strides": [8, 16, 32], "share_conv": True, "depthwise": True, "exp_on_reg": False},
        },
        "input_size": [w, h],
        "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD),
        "channel_order": "rgb",
        "input_format": "float_nchw",
        "outputs": ["boxes", "scores"],
        "pad_value": 114,
        "letterbox": "topleft",
        "nms": "outside",
        "classes": ["person"],
        "provenance": {},
    }


PRESETS: dict[str, dict[str, Any]] = {
    "poselive-pose-t": pose_spec("t"),
    "poselive-pose-s": pose_spec("s"),
    "poselive-pose-m": pose_spec("m"),
    "poselive-pose-t-hm": pose_spec("t", head="heatmap"),
    "poselive-det-nano": detector_spec(),
    "movenet-lightning": movenet_spec("lightning"),
    "movenet-thunder": movenet_spec("thunder"),
}


# Familiar names for the same architectures.
ALIASES = {"rtmpose-t": "poselive-pose-t", "rtmpose-s": "poselive-pose-s",
           "rtmpose-m": "poselive-pose-m", "rtmdet-nano": "poselive-det-nano"}


def normalize_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` whose architecture and codec agree with its top-level fields.

    The user-facing fields win: ``keypoint_set`` sets the head's keypoint count and
    ``input_size`` the head's and codec's sizes, so changing them beside a preset is enough.
    """
    spec = copy.deepcopy(spec)
    arch = spec.get("arch") or {}
    if spec.get("task") != "pose" or arch.get("type") != "topdown":
        return spec
    head = arch.get("head", {})
    codec = spec.get("codec") or {}
    if spec.get("keypoint_set"):
        from poselive.keypoints import get_keypoint_set

        kset = get_keypoint_set(spec["keypoint_set"])
        spec["keypoint_set"] = kset.name
        head["num_keypoints"] = kset.num_keypoints
    if spec.get("input_size"):
        w, h = (int(v) for v in spec["input_size"])
        if w % 32 or h % 32:
            raise ConfigError(f"pose input size {w}x{h} must be a multiple of 32 on both sides")
        codec["input_size"] = [w, h]
        if head.get("type") == "rtmcc":
            head["input_size"] = [w, h]
            head["in_featuremap_size"] = [w // 32, h // 32]
        elif head.get("type") == "centernet" and codec.get("type") == "movenet":
            codec["heatmap_size"] = [w // 4, h // 4]  # MoveNet's output stride
        elif head.get("type") == "heatmap" and codec.get("type") in ("msra_heatmap", "udp_heatmap"):
            up = 2 ** len(head.get("deconv_channels", (256, 256, 256)))
            codec["heatmap_size"] = [w // 32 * up, h // 32 * up]
    if head.get("type") == "rtmcc" and codec.get("type") == "simcc":
        head["split_ratio"] = float(codec.get("split_ratio", head.get("split_ratio", 2.0)))
    return spec


def preset_names() -> list[str]:
    """Names of all presets."""
    return sorted(PRESETS)


def preset_spec(name: str) -> dict[str, Any]:
    """A fresh copy of the spec of preset ``name`` (aliases such as ``rtmpose-t`` allowed)."""
    name = ALIASES.get(name, name)
    if name not in PRESETS:
        raise ConfigError(f"unknown model preset '{name}'; known: {', '.join(preset_names())}")
    return copy.deepcopy(PRESETS[name])
