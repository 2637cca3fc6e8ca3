"""Component registries: one plain dict per kind. A new component is one file plus one line here.

Specs name components by these keys (``{"type": "cspnext", ...}``); ``grep`` a key in
this file to find the class it builds.
"""

from __future__ import annotations

from typing import Any, Callable

from poselive.models.backbones.cspnext import cspnext
from poselive.models.backbones.mobilenetv2 import MobileNetV2
from poselive.models.heads.centernet import CenterNetHead
from poselive.models.heads.heatmap import HeatmapHead
from poselive.models.heads.rtmcc import RTMCCHead
from poselive.models.heads.rtmdet import RTMDetSepBNHead
from poselive.models.necks.movenet_fpn import MoveNetFPN
from poselive.models.necks.pafpn import CSPNeXtPAFPN

BACKBONES: dict[str, Callable[..., Any]] = {
    "cspnext": cspnext,
    "mobilenetv2": MobileNetV2,
}
NECKS: dict[str, Callable[..., Any]] = {
    "cspnext_pafpn": CSPNeXtPAFPN,
    "movenet_fpn": MoveNetFPN,
}
HEADS: dict[str, Callable[..., Any]] = {
    "rtmcc": RTMCCHead,
    "heatmap": HeatmapHead,
    "rtmdet_sepbn": RTMDetSepBNHead,
    "centernet": CenterNetHead,
}


def _build_topdown(arch: dict):
    from poselive.models.pose import TopDownPoseModel

    backbone = build_component(BACKBONES, "backbone", arch["backbone"])
    channels = backbone.out_channels
    neck = None
    if arch.get("neck"):
        neck = build_component(NECKS, "neck", arch["neck"], in_channels=channels)
        channels = neck.out_channels
    head = build_component(HEADS, "head", arch["head"], in_channels=channels[-1])
    return TopDownPoseModel(backbone, head, neck)


def _build_detector(arch: dict):
    from poselive.models.detector import PersonDetector

    backbone = build_component(BACKBONES, "backbone", arch["backbone"])
    neck = build_component(NECKS, "neck", arch["neck"], in_channels=backbone.out_channels)
    head = build_component(HEADS, "head", arch["head"], in_channels=neck.out_channels[0])
    return PersonDetector(backbone, neck, head)


MODELS: dict[str, Callable[[dict], Any]] = {
    "topdown": _build_topdown,
    "detector": _build_detector,
}


def build_component(registry: dict, kind: str, cfg: dict, **defaults):
    """Build ``cfg["type"]`` from ``registry``; ``defaults`` fill parameters the cfg leaves out."""
    from poselive.errors import ConfigError

    cfg = dict(cfg)
    name = cfg.pop("type", None)
    if name not in registry:
        raise ConfigError(f"unknown {kind} '{name}'; known: {', '.join(sorted(registry))}")
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    try:
        return registry[name](**cfg)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for {kind} '{name}': {exc}") from exc
