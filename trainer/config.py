"""Training configs: small readable files (YAML, JSON or a Python file defining ``config``)
merged over ``DEFAULTS``, plus ``key.sub=value`` overrides from the command line."""

from __future__ import annotations

import copy
import json
import os
import runpy
from pathlib import Path
from typing import Any

from poselive.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "task": "pose",
    "work_dir": "runs/train",
    "seed": 0,
    # model: {"preset": NAME} | {"spec": {...}} | {"checkpoint": PATH} (fine-tune from it)
    "model": {"preset": "rtmpose-t"},
    "data": {
        # train/val: {"ann": PATH, "images": DIR, "format": "coco", "det_results": PATH|None}
        "train": None,
        "val": None,
        "cache_images": False,
        "workers": 2,
    },
    "augment": {"flip": 0.5, "half_body": 0.3, "shift": 0.16, "shift_prob": 0.3, "scale": [0.75, 1.25],
                "rotate": 60.0, "rotate_prob": 0.6, "color": 0.5, "blur": 0.1, "dropout": 0.0},
    "loss": None,  # None: the codec's default (simcc_kl or heatmap_mse); or {"type": ..., ...}
    "optim": {"lr": 4e-3, "weight_decay": 0.05, "betas": [0.9, 0.999], "grad_clip": 35.0,
              "warmup_iters": 100, "warmup_ratio": 0.001, "min_lr_ratio": 0.05},
    "schedule": {"epochs": 10, "batch_size": 32, "val_interval": 1, "ckpt_interval": 1, "max_iters_per_epoch": None},
    "ema": {"enabled": True, "decay": 0.9998, "ramp": 2000.0},  # ramp 0: full decay from step 1
    "freeze_bn": False,  # BatchNorm layers keep their running statistics (fine-tuning)
    "amp": "auto",  # auto: fp16 + GradScaler on CUDA, fp32 on CPU; or "off", "bf16", "fp16"
    "sync_bn": True,  # convert BatchNorm to SyncBatchNorm when training on several processes
    "device": "auto",
    "threads": None,  # torch intra-op threads on CPU (None: torch's default)
    "eval": {"flip_test": False, "score_threshold": 0.2},
    "log": {"progress": True, "tensorboard": True},
    "resume": None,  # PATH or "auto" (work_dir/last.pth if present)
    "freeze": [],  # parameter-name prefixes not to train, e.g. ["backbone", "head.center"]
}


def deep_merge(base: dict, update: dict) -> dict:
    """A copy of ``base`` with ``update`` merged in recursively (dicts merge, others replace)."""
    out = copy.deepcopy(base)
    for k, v in (update or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def read_config_file(path: str | Path) -> dict:
    """Parse a YAML (needs PyYAML), JSON or Python (``config = {...}``) config file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise ConfigError(f"{p} is YAML but PyYAML is not installed; pip install pyyaml, "
                              "or write the config as JSON") from exc
        data = yaml.safe_load(p.read_text()) or {}
    elif suffix == ".json":
        data = json.loads(p.read_text())
    elif suffix == ".py":
        data = runpy.run_path(str(p)).get("config")
    else:
        raise ConfigError(f"unknown config format '{suffix}'; use .yaml, .json or .py")
    if not isinstance(data, dict):
        raise ConfigError(f"{p} must hold a mapping of settings at its top level")
    return data


def _parse_value(text: str) -> Any:
    """'3' -> 3, '0.1' -> 0.1, 'true' -> True, '[1,2]' -> [1, 2], else the string."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def apply_overrides(cfg: dict, overrides: dict[str, Any] | list[str] | None) -> dict:
    """Set dotted keys (``schedule.epochs=3``); string values are parsed as JSON-ish."""
    if not overrides:
        return cfg
    items = overrides.items() if isinstance(overrides, dict) else (o.split("=", 1) for o in overrides)
    cfg = copy.deepcopy(cfg)
    for key, value in items:
        value = _parse_value(value) if isinstance(value, str) else value
        node = cfg
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return cfg


def expand_paths(value: Any) -> Any:
    """Replace ``${POSELIVE_SHARED}`` in every string (default ``../shared``, as the tests use)."""
    if isinstance(value, str):
        return value.replace("${POSELIVE_SHARED}", os.environ.get("POSELIVE_SHARED", "../shared"))
    if isinstance(value, dict):
        return {k: expand_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_paths(v) for v in value]
    return value


def load_config(path_or_dict: str | Path | dict, overrides: dict | list | None = None) -> dict:
    """The full config: DEFAULTS, then the file or dict, then the overrides."""
    data = dict(path_or_dict) if isinstance(path_or_dict, dict) else read_config_file(path_or_dict)
    unknown = set(data) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}; known: {', '.join(DEFAULTS)}")
    cfg = deep_merge(DEFAULTS, data)
    if "model" in data:
        cfg["model"] = copy.deepcopy(data["model"])  # one way of naming the model, not a merge of two
    return expand_paths(apply_overrides(cfg, overrides))
