"""Adapters: the pre- and post-processing of one model family each, on numpy and OpenCV.

An adapter wraps an engine (anything with the Engine protocol's ``inputs``, ``outputs``,
``spec`` and ``run``). Detector adapters have ``detect(image) -> Detections``; pose
adapters have ``estimate(image, boxes) -> (keypoints [N,K,2], scores [N,K])``, both in
original-image pixels. The family is chosen from the engine's outputs and spec, or named
explicitly. A new family is one module plus one line in a registry below.
"""

from __future__ import annotations

from typing import Any

from poselive.errors import ConfigError
from poselive.stages.adapters.base import Preprocess, engine_spec
from poselive.stages.adapters.end2end_detector import End2EndDetector
from poselive.stages.adapters.heatmap_pose import HeatmapPose
from poselive.stages.adapters.movenet_maps import MoveNetMapsPose
from poselive.stages.adapters.movenet_pose import MoveNetPose
from poselive.stages.adapters.raw_detector import RawDetector
from poselive.stages.adapters.simcc_pose import SimCCPose

# Registries; automatic selection tries them in this order.
DETECTOR_ADAPTERS: dict[str, type] = {
    "end2end": End2EndDetector,
    "raw": RawDetector,
}
POSE_ADAPTERS: dict[str, type] = {
    "simcc": SimCCPose,
    "heatmap": HeatmapPose,
    "movenet_maps": MoveNetMapsPose,
    "movenet": MoveNetPose,
}

__all__ = ["DETECTOR_ADAPTERS", "POSE_ADAPTERS", "End2EndDetector", "HeatmapPose", "MoveNetMapsPose", "MoveNetPose",
           "Preprocess", "RawDetector", "SimCCPose", "build_detector_adapter", "build_pose_adapter"]


def _describe(engine: Any) -> str:
    ins = ", ".join(f"{i.name}{list(i.shape)}" for i in engine.inputs)
    outs = ", ".join(f"{o.name}{list(o.shape)}" for o in engine.outputs)
    return f"inputs [{ins}] outputs [{outs}]"


def _build(kind: str, registry: dict[str, type], engine: Any, adapter: Any, kwargs: dict) -> Any:
    task = engine_spec(engine).get("task")
    wanted = "detector" if kind == "detector" else "pose"
    if task is not None and task != wanted:
        raise ConfigError(f"this model's spec says task '{task}', but it was given to the {kind} "
                          "stage; swap the --det and --pose models")
    if adapter is None:
        for cls in registry.values():
            if cls.matches(engine):
                return cls(engine, **kwargs)
        raise ConfigError(f"no {kind} adapter fits a model with {_describe(engine)}; "
                          f"name one explicitly ({', '.join(registry)})")
    if isinstance(adapter, str):
        if adapter not in registry:
            raise ConfigError(f"unknown {kind} adapter '{adapter}'; known: {', '.join(registry)}")
        return registry[adapter](engine, **kwargs)
    if isinstance(adapter, type):
        return adapter(engine, **kwargs)
    return adapter  # an adapter instance, used as given


def build_detector_adapter(engine: Any, adapter: Any = None, **kwargs: Any) -> Any:
    """The detector adapter for ``engine``: auto-selected, named (``"end2end"``) or given."""
    return _build("detector", DETECTOR_ADAPTERS, engine, adapter, kwargs)


def build_pose_adapter(engine: Any, adapter: Any = None, **kwargs: Any) -> Any:
    """The pose adapter for ``engine``: auto-selected, named (``"simcc"``) or given."""
    return _build("pose", POSE_ADAPTERS, engine, adapter, kwargs)
