"""Self-describing checkpoints: weights plus the model spec, loadable with weights_only=True."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from poselive.errors import ConfigError, ModelError

FORMAT = "poselive-checkpoint"
VERSION = 1


def _check_jsonable(spec: dict) -> dict:
    try:
        return json.loads(json.dumps(spec))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the model spec must be JSON-serialisable (plain dicts, lists, numbers, "
                          f"strings): {exc}") from exc


def save_checkpoint(path: str | Path, model, spec: dict[str, Any], **extra: Any) -> Path:
    """Write ``model``'s weights with ``spec`` (and ``extra`` entries, e.g. epoch, metrics) to ``path``.

    ``extra`` values must be loadable with ``torch.load(weights_only=True)``: tensors, numbers,
    strings, lists and dicts of those.
    """
    import torch

    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "spec": _check_jsonable(spec),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: a crash never leaves half a checkpoint under the real name
    return path


def read_checkpoint(path: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Load and check a poselive checkpoint's raw dict (``spec``, ``state_dict``, ``extra``)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        raise ModelError(f"cannot read checkpoint {path}: it is corrupt, truncated or not a safe torch "
                         f"file ({type(exc).__name__}). Re-download or re-export it.") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("spec"), dict):
        raise ModelError(f"{path} is not a poselive checkpoint (it has no embedded model spec); "
                         f"save models with poselive.models.save_checkpoint")
    if int(data.get("version", 0)) > VERSION:
        raise ModelError(f"{path} was written by a newer poselive (checkpoint version "
                         f"{data['version']}); upgrade poselive to load it")
    if not isinstance(data.get("state_dict"), dict):
        raise ModelError(f"{path} has no weights (state_dict missing)")
    return data


def load_model(path: str | Path, expect_task: str | None = None, map_location: str = "cpu"):
    """Rebuild the model stored in a checkpoint: returns (model in eval mode, spec)."""
    from poselive.models import build_model

    data = read_checkpoint(path, map_location)
    spec = data["spec"]
    if expect_task is not None and spec.get("task") != expect_task:
        raise ModelError(f"{path} holds a {spec.get('task')} model ('{spec.get('name', '?')}') but a "
                         f"{expect_task} model is expected here")
    try:
        model = build_model(spec)
    except ConfigError as exc:
        raise ModelError(f"{path}: its spec does not describe a buildable model: {exc}") from exc
    try:
        result = model.load_state_dict(data["state_dict"], strict=False)
    except RuntimeError as exc:  # shape mismatches
        first = str(exc).split("\n")[1].strip() if "\n" in str(exc) else str(exc)
        raise ModelError(f"{path}: weights do not match the architecture in its spec ({first}); "
                         f"the spec was edited or the file mixes two models") from exc
    if result.missing_keys or result.unexpected_keys:
        raise ModelError(f"{path}: weights do not match the architecture in its spec (missing: "
                         f"{result.missing_keys[:5]}, unexpected: {result.unexpected_keys[:5]})")
    return model.eval(), spec
