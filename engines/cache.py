"""Engine cache: where built models live, what they were built from and for, and whether
a file on disk still fits the checkpoint, the TensorRT version and the GPU at hand.

Every built model (a TensorRT engine or a validated ONNX file) has a sidecar
``<model file>.spec.json``: the model spec at the top level (so readers of the spec
contract can use it unchanged) plus a ``"build"`` section with the cache key fields.
The file name is keyed on what cannot change on this machine (checkpoint hash,
backend, precision, batch range); the environment fields (TensorRT version, GPU,
compute capability) are compared from the sidecar, so an engine built elsewhere is
found, recognised as stale and rebuilt with a message, rather than silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from poselive.errors import ModelError

SIDECAR_SUFFIX = ".spec.json"
# Build fields that must match the machine that runs the engine (not the model itself).
ENVIRONMENT_FIELDS = ("trt_version", "gpu", "compute_capability")


def default_cache_dir() -> Path:
    """The engine cache folder: ``$POSELIVE_CACHE`` or ``~/.cache/poselive/engines``."""
    env = os.environ.get("POSELIVE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "poselive" / "engines"


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    """Everything a built model depends on; two builds with equal keys are interchangeable."""

    checkpoint_sha256: str
    backend: str  # "tensorrt" | "onnxruntime"
    precision: str  # "fp32" | "fp16" | "int8"
    # Input shapes of the optimisation profile: {input name: [min, opt, max] shapes}.
    shapes: dict[str, list[list[int]]] = field(default_factory=dict)
    trt_version: str = ""  # "" for ONNX Runtime builds
    gpu: str = ""
    compute_capability: str = ""
    fold_preprocess: bool = False

    def model_id(self) -> str:
        """Short hash of the machine-independent fields; names the file in the cache."""
        stable = {k: v for k, v in asdict(self).items() if k not in ENVIRONMENT_FIELDS}
        blob = json.dumps(stable, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the sidecar's ``build`` section)."""
        return asdict(self)


def engine_filename(name: str, key: EngineKey) -> str:
    """File name of a build in the cache, e.g. ``poselive-pose-t-fp16-3f2a9c0d1e2b.engine``."""
    ext = ".engine" if key.backend == "tensorrt" else ".onnx"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in (name or "model"))
    return f"{safe}-{key.precision}-{key.model_id()}{ext}"


def sidecar_path(model_path: str | Path) -> Path:
    """``<model file>.spec.json`` (accepts the sidecar path itself too)."""
    p = Path(model_path)
    return p if p.name.endswith(SIDECAR_SUFFIX) else p.with_name(p.name + SIDECAR_SUFFIX)


def write_sidecar(model_path: str | Path, spec: dict[str, Any], key: EngineKey | None = None,
                  extra: dict[str, Any] | None = None) -> Path:
    """Write the spec (plus the build key) beside a built model; returns the sidecar path."""
    data = dict(spec)
    if key is not None or extra:
        build = dict(data.get("build") or {})
        if key is not None:
            build.update(key.to_dict())
        build.update(extra or {})
        data["build"] = build
    out = sidecar_path(model_path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, out)  # atomic, so a reader never sees half a sidecar
    return out


def read_sidecar(model_path: str | Path) -> dict[str, Any]:
    """Read ``<model file>.spec.json``; ModelError if it is missing or not a JSON object."""
    p = sidecar_path(model_path)
    if not p.is_file():
        raise ModelError(f"no spec sidecar {p} beside the model; rebuild it with: poselive build CHECKPOINT")
    try:
        data = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"spec sidecar {p} is corrupt ({exc}); delete it and rebuild with: "
                         "poselive build CHECKPOINT") from exc
    if not isinstance(data, dict):
        raise ModelError(f"spec sidecar {p} does not hold a JSON object; rebuild the model")
    return data


def _lookup(spec: dict[str, Any], key: str) -> Any:
    """A field from the spec's top level, else from its ``build`` section."""
    if key in spec:
        return spec[key]
    return (spec.get("build") or {}).get(key)


def _norm(value: Any) -> Any:
    # JSON turns tuples into lists; compare the two as equal.
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def check_compatible(spec_sidecar: str | Path | dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """Check a built model's spec against what the caller needs; returns the spec.

    ``spec_sidecar`` is a sidecar path, the model file's path, or an already read spec.
    Each key of ``expected`` (e.g. ``task``, ``keypoint_set``, ``input_size``,
    ``checkpoint_sha256``, ``trt_version``, ``gpu``) is looked up at the spec's top level,
    then in its ``build`` section. Raises ModelError listing every mismatch.
    """
    if isinstance(spec_sidecar, dict):
        spec, where = spec_sidecar, "the model"
    else:
        spec, where = read_sidecar(spec_sidecar), str(spec_sidecar)
    problems = []
    for k, want in expected.items():
        have = _lookup(spec, k)
        if have is None:
            problems.append(f"{k}: expected {want!r}, the model does not say")
        elif _norm(have) != _norm(want):
            problems.append(f"{k}: expected {want!r}, the model has {have!r}")
    if problems:
        env = [p for p in problems if p.split(":")[0] in ENVIRONMENT_FIELDS]
        hint = ("it was built for another machine or TensorRT version; rebuild it here with: "
                "poselive build CHECKPOINT --backend tensorrt") if env else \
            "use the model built for this purpose, or rebuild it with: poselive build CHECKPOINT"
        raise ModelError(f"{where} does not fit: " + "; ".join(problems) + f". {hint}")
    return spec


def stale_reason(sidecar: dict[str, Any], key: EngineKey) -> str | None:
    """Why a cached build no longer fits ``key`` (None when it fits)."""
    build = sidecar.get("build") or {}
    want = key.to_dict()
    diffs = [f for f in want if _norm(build.get(f)) != _norm(want[f])]
    if not diffs:
        return None
    if any(f in ENVIRONMENT_FIELDS for f in diffs):
        return (f"it was built with TensorRT {build.get('trt_version') or '?'} for "
                f"{build.get('gpu') or '?'} (compute {build.get('compute_capability') or '?'}), "
                f"but this machine has TensorRT {key.trt_version} and {key.gpu} "
                f"(compute {key.compute_capability})")
    return "its build settings differ: " + ", ".join(
        f"{f} {build.get(f)!r} -> {want[f]!r}" for f in diffs)


def find_cached(cache_dir: str | Path, name: str, key: EngineKey) -> tuple[Path, str | None]:
    """Where a build for ``key`` lives and why it cannot be reused (None: reuse it).

    The reason is ``"missing"`` when there is no file yet.
    """
    path = Path(cache_dir) / engine_filename(name, key)
    if not path.is_file():
        return path, "missing"
    try:
        sidecar = read_sidecar(path)
    except ModelError as exc:
        return path, str(exc)
    return path, stale_reason(sidecar, key)
