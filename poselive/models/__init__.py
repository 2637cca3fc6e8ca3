"""PyTorch models: CSPNeXt backbones, RTMCC/heatmap pose heads, a one-class person detector.

Needs the ``torch`` extra. Everything is built from a JSON-able spec (see
``poselive.models.presets``); checkpoints carry that spec, so ``load_model(path)`` rebuilds
the model from the file alone.
"""

from __future__ import annotations

from typing import Any

from poselive.errors import ConfigError, require

require("torch", "torch", "poselive.models")

from poselive.models.checkpoint import load_model, read_checkpoint, save_checkpoint  # noqa: E402
from poselive.models.presets import (  # noqa: E402
    detector_spec, normalize_spec, pose_spec, preset_names, preset_spec)
from poselive.models.registry import MODELS  # noqa: E402


def build_model(spec: dict[str, Any]):
    """Build the torch module a spec describes; the (normalised) spec is kept as ``model.spec``."""
    if isinstance(spec, dict):
        spec = normalize_spec(spec)
    arch = spec.get("arch") if isinstance(spec, dict) else None
    if not isinstance(arch, dict):
        raise ConfigError("a model spec needs an 'arch' dict; start from poselive.models.preset_spec(name)")
    kind = arch.get("type")
    if kind not in MODELS:
        raise ConfigError(f"unknown model type '{kind}'; known: {', '.join(sorted(MODELS))}")
    model = MODELS[kind](arch)
    model.spec = spec
    return model


__all__ = ["build_model", "load_model", "save_checkpoint", "read_checkpoint", "preset_spec",
           "preset_names", "pose_spec", "detector_spec", "normalize_spec", "MODELS"]
