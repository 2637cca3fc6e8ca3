"""Engines: one small protocol over ONNX Runtime, PyTorch and TensorRT backends.

An engine takes named input arrays and returns named output arrays, and carries the
model's spec (empty for external models that have none). Pre- and post-processing live
in poselive, not here, so every backend gives the same keypoints.

``open_engine(path)`` picks the backend from the file's suffix; ``BACKENDS`` maps each
backend name to the function that opens it (one line per backend). Importing this
package never imports torch or tensorrt.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from engines.base import Engine, TensorInfo
from poselive.errors import ConfigError, MissingExtraError, ModelError

__all__ = ["BACKENDS", "SUFFIXES", "Engine", "TensorInfo", "open_engine"]


def _open_onnxruntime(path: Path, threads: int | None, device: str | None, **kw: Any) -> Engine:
    from engines.onnxruntime import OrtEngine

    providers = kw.pop("providers", None)
    if providers is None and device not in (None, "cpu"):
        # "cuda" / "cuda:0" -> CUDA provider; "tensorrt" -> ORT's TensorRT provider.
        providers = [device.split(":")[0], "cpu"]
    if kw:
        raise ConfigError(f"unknown options for the onnxruntime backend: {sorted(kw)}")
    return OrtEngine(path, threads=threads, providers=providers)


def _open_torch(path: Path, threads: int | None, device: str | None, **kw: Any) -> Engine:
    from engines.torch import TorchEngine

    if threads is not None:
        from engines.torch import _import_torch

        _import_torch().set_num_threads(int(threads))
    return TorchEngine.from_checkpoint(path, device=device or "cpu", **kw)


def _open_tensorrt(path: Path, threads: int | None, device: str | None, **kw: Any) -> Engine:
    try:
        module = importlib.import_module("engines.tensorrt")
    except ImportError as exc:
        # Either the backend module or the tensorrt package itself is missing.
        raise MissingExtraError("tensorrt", "tensorrt", "running .engine/.plan files") from exc
    if device is not None:
        kw["device"] = _gpu_index(device)
    return module.TensorRTEngine(path, **kw)


def _gpu_index(device: str | int) -> int:
    """'cuda' -> 0, 'cuda:1' -> 1, 1 -> 1: TensorRT takes a GPU index."""
    if isinstance(device, int):
        return device
    kind, _, index = str(device).partition(":")
    if kind not in ("cuda", "gpu") or (index and not index.isdigit()):
        raise ConfigError(f"TensorRT runs on a GPU; got device '{device}', use 'cuda' or 'cuda:N'")
    return int(index or 0)


# backend name -> opener(path, threads, device, **kw). One line per backend.
BACKENDS: dict[str, Callable[..., Engine]] = {
    "onnxruntime": _open_onnxruntime,
    "torch": _open_torch,
    "tensorrt": _open_tensorrt,
}

# file suffix -> the backend that runs it natively.
SUFFIXES: dict[str, str] = {
    ".onnx": "onnxruntime",
    ".pt": "torch",
    ".pth": "torch",
    ".ckpt": "torch",
    ".engine": "tensorrt",
    ".plan": "tensorrt",
}


def open_engine(path: str | Path, backend: str = "auto", threads: int | None = None,
                device: str | None = None, **kw: Any) -> Engine:
    """Open a model file with the backend its suffix calls for (or the one asked for)."""
    path = Path(path)
    suffix = path.suffix.lower()
    native = SUFFIXES.get(suffix)
    if native is None:
        raise ConfigError(f"don't know how to run '{path.name}': expected one of "
                          f"{', '.join(sorted(SUFFIXES))}")
    if backend == "auto":
        backend = native
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; known: auto, {', '.join(BACKENDS)}")
    if backend != native:
        # Converting between formats is the build command's job, not the loader's.
        kind = {"onnxruntime": "an ONNX model", "torch": "a checkpoint",
                "tensorrt": "a TensorRT engine"}[backend]
        if backend == "torch":
            hint = f"run it with backend='{native}' instead"
        else:
            hint = f"convert it first with: poselive build {path} --backend {backend}"
        raise ConfigError(f"the {backend} backend needs {kind}, but {path.name} is for {native}; {hint}")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}; check the path")
    return BACKENDS[backend](path, threads, device, **kw)
