"""`poselive model-info`: describe any model poselive can run.

A shipped name or alias, an ONNX file (its embedded spec, or its inputs and outputs when
it has none), a built engine (its ``.spec.json`` sidecar), a ``.pt`` checkpoint, a spec
JSON or a preset (parameters and FLOPs; these need torch). ONNX files and engines are
described without torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from poselive import assets
from poselive.errors import MissingExtraError, ModelError

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def _spec_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The parts of a model spec worth showing."""
    keep = ("name", "task", "arch", "backbone", "keypoint_set", "input_size", "channel_order", "mean", "std",
            "codec", "outputs", "provenance", "build")
    return {k: spec[k] for k in keep if k in spec}


def describe_onnx(path: Path) -> dict[str, Any]:
    """An ONNX file's spec (from metadata_props) and its inputs and outputs."""
    from engines.onnxruntime import OrtEngine

    from engines.cache import read_sidecar, sidecar_path

    engine = OrtEngine(path, threads=1)
    try:
        built = read_sidecar(path).get("build") if sidecar_path(path).is_file() else None
        return {"build": built,
            "file": str(path), "format": "onnx", "size_mb": round(path.stat().st_size / 1e6, 2),
            "spec": _spec_fields(engine.spec) if engine.spec else None,
            "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in engine.inputs],
            "outputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in engine.outputs],
        }
    finally:
        engine.close()


def describe_engine(path: Path) -> dict[str, Any]:
    """A built engine, from the spec sidecar written beside it by ``poselive build``."""
    from engines.cache import read_sidecar

    if not path.is_file():
        raise ModelError(f"model file not found: {path}; check the path")
    spec = read_sidecar(path)
    return {"file": str(path), "format": "engine", "size_mb": round(path.stat().st_size / 1e6, 2),
            "spec": _spec_fields(spec)}


def describe_checkpoint(source: str) -> dict[str, Any]:
    """Parameters, FLOPs and shapes of a checkpoint, spec JSON or preset (needs torch)."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("torch", "torch", f"describing {source}") from exc
    from poselive.models.info import model_info

    return {"file": source, "format": "checkpoint", **model_info(source)}


def describe(source: str) -> dict[str, Any]:
    """Describe a model given by shipped name, file path or preset name."""
    shipped = None
    path = Path(source)
    if assets.is_model_name(source) and not path.exists():
        shipped = assets.lookup(source)
        path = assets.model_path(source, flag="model-info")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        if not path.is_file():
            raise ModelError(f"model file not found: {path}; check the path")
        info = describe_onnx(path)
    elif suffix in ENGINE_SUFFIXES:
        info = describe_engine(path)
    else:
        info = describe_checkpoint(source)
    if shipped is not None:
        card = assets.card_path(shipped.name)
        info = {"shipped": shipped.name, "alias": source if source != shipped.name else None,
                "kind": shipped.kind, "summary": shipped.summary, "card": str(card) if card else None, **info}
    return info


def shipped_table() -> list[dict[str, Any]]:
    """One row per shipped model: name, aliases, kind, whether its file is installed."""
    rows = []
    for name, m in assets.MODELS.items():
        aliases = [a for a, n in assets.ALIASES.items() if n == name]
        defaults = [k for k, v in assets.DEFAULTS.items() if assets.ALIASES.get(v, v) == name]
        rows.append({"name": name, "aliases": aliases, "kind": m.kind, "default_for": defaults,
                     "installed": (assets.asset_dir() / m.file).is_file(), "summary": m.summary})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """``shipped_table`` as aligned text."""
    lines = [f"{'name':<24} {'aliases':<10} {'kind':<5} {'installed':<10} summary"]
    for r in rows:
        extra = f" [default --{', --'.join(r['default_for'])}]" if r["default_for"] else ""
        lines.append(f"{r['name']:<24} {','.join(r['aliases']) or '-':<10} {r['kind']:<5} "
                     f"{'yes' if r['installed'] else 'no':<10} {r['summary']}{extra}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    """A spec value on one line: an architecture dict as its parts' types and sizes."""
    if isinstance(value, dict) and "type" in value:
        parts = [str(value["type"])]
        for k, v in value.items():
            if isinstance(v, dict) and "type" in v:
                parts.append(f"{k} {v['type']}" + (f" {v['size']}" if "size" in v else ""))
        return ", ".join(parts)
    return str(value)


def format_info(info: dict[str, Any]) -> str:
    """Human-readable text of ``describe``'s dict."""
    if info.get("format") == "checkpoint":
        from poselive.models.info import format_model_info

        head = format_model_info(info)
        return f"file       {info['file']}\n{head}"
    lines = []
    if info.get("shipped"):
        alias = f" (alias {info['alias']})" if info.get("alias") else ""
        lines.append(f"shipped      {info['shipped']}{alias}: {info['summary']}")
        if info.get("card"):
            lines.append(f"card         {info['card']}")
    lines.append(f"file         {info['file']} ({info['format']}, {info['size_mb']} MB)")
    spec = info.get("spec")
    if spec:
        for key in ("name", "task", "arch", "keypoint_set", "input_size", "channel_order"):
            if key in spec:
                lines.append(f"{key.replace('channel_order', 'channels'):<12} {_short(spec[key])}")
        codec = spec.get("codec")
        if isinstance(codec, dict):
            lines.append(f"{'codec':<12} {codec.get('type')} " + json.dumps(
                {k: v for k, v in codec.items() if k != "type"}, separators=(",", ":")))
        build = spec.get("build") or info.get("build")
        if isinstance(build, dict):
            lines.append(f"{'build':<12} " + ", ".join(f"{k}={v}" for k, v in build.items()
                                                       if not isinstance(v, (dict, list))))
    elif "spec" in info:
        lines.append("spec         none embedded (an external model); its inputs and outputs:")
    for kind in ("inputs", "outputs"):
        for t in info.get(kind, []):
            shape = ["?" if d is None else d for d in t["shape"]]
            lines.append(f"{kind[:-1]:<12} {t['name']} {shape} {t['dtype']}")
    return "\n".join(lines)
