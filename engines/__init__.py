"""Engines: one small protocol over ONNX Runtime, PyTorch and TensorRT backends.

An engine takes named input arrays and returns named output arrays, and carries the
model's spec (empty for external models that have none). Pre- and post-processing live
in poselive, not here, so every backend gives the same keypoints.

``open_engine(path)`` (``backend="auto"``) picks the fastest backend available for the
file: a checkpoint is built (once, through the engine cache) to a TensorRT engine when
TensorRT and a CUDA GPU are there, else to an ONNX model for ONNX Runtime, and runs on
PyTorch only when that build fails. ``BACKENDS`` maps each backend name to the function
that opens it (one line per backend). Importing this package never imports torch or
tensorrt.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
from typing import Any, Callable

from engines.base import Engine, TensorInfo
from poselive.errors import ConfigError, MissingExtraError, ModelError
from poselive.interrupts import reraise_interrupt

__all__ = ["BACKENDS", "SUFFIXES", "Engine", "TensorInfo", "open_engine"]

log = logging.getLogger("poselive.engines")


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


# Checkpoint options only the PyTorch backend understands: with backend="auto" they pick it.
TORCH_OPTIONS = frozenset({"half", "channels_last", "cuda_graphs"})


def open_engine(path: str | Path, backend: str = "auto", threads: int | None = None,
                device: str | None = None, cache_dir: str | Path | None = None, **kw: Any) -> Engine:
    """Open a model file with the fastest backend available (``auto``) or the one asked for.

    ``auto``: ``.onnx`` runs on ONNX Runtime (its CUDA provider when onnxruntime-gpu offers
    it and no device is given), ``.engine``/``.plan`` on TensorRT. A checkpoint
    (``.pt/.pth/.ckpt``) is built once through the engine cache (``cache_dir``, default
    ``$POSELIVE_CACHE`` or ``~/.cache/poselive/engines``; later opens reuse the build):
    to a TensorRT engine when ``tensorrt`` imports and torch sees a CUDA GPU, else to an
    ONNX model for ONNX Runtime, because ONNX Runtime runs the pose and detector presets
    1.6x and 2.7x faster than PyTorch on a 2-core CPU (docs/benchmarks.md). Only when the
    build fails does the checkpoint run on PyTorch, with a log line saying why; a
    checkpoint that PyTorch cannot load either raises that error. ``device='cpu'`` keeps
    everything on the CPU; PyTorch-only options (``half``, ``channels_last``,
    ``cuda_graphs``) choose PyTorch. The choice and its reason are logged at INFO on
    ``poselive.engines``. An explicit backend runs the file as it is (no conversion).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    native = SUFFIXES.get(suffix)
    if native is None:
        raise ConfigError(f"don't know how to run '{path.name}': expected one of "
                          f"{', '.join(sorted(SUFFIXES))}")
    if backend == "auto":
        if not path.is_file():
            raise ModelError(f"model file not found: {path}; check the path")
        return _open_auto(path, native, threads, device, cache_dir, kw)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend '{backend}'; known: auto, {', '.join(BACKENDS)}")
    if backend != native:
        # Converting between formats is the build command's job (or backend='auto''s).
        kind = {"onnxruntime": "an ONNX model", "torch": "a checkpoint",
                "tensorrt": "a TensorRT engine"}[backend]
        if backend == "torch":
            hint = f"run it with backend='{native}' instead"
        else:
            hint = (f"convert it first with: poselive build {path} --backend {backend} "
                    "(or open it with backend='auto', which builds and caches)")
        raise ConfigError(f"the {backend} backend needs {kind}, but {path.name} is for {native}; {hint}")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}; check the path")
    return BACKENDS[backend](path, threads, device, **kw)


# -- backend="auto" -------------------------------------------------------------------
def _wants_gpu(device: str | None) -> bool:
    return device is None or not str(device).lower().startswith("cpu")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _tensorrt_unavailable() -> str | None:
    """Why a TensorRT build cannot be tried here (None when it can)."""
    try:
        import tensorrt  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - a broken install raises more than ImportError
        reraise_interrupt(exc)
        return f"tensorrt does not import ({_first_line(exc)})"
    try:
        import torch
    except ImportError as exc:
        reraise_interrupt(exc)
        return "torch is not installed (TensorRT buffers go through torch)"
    if not torch.cuda.is_available():
        return "torch sees no CUDA GPU"
    return None


def _ort_has_cuda() -> bool:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        reraise_interrupt(exc)
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


def _torch_has_cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _choose(path: Path, backend: str, why: str) -> None:
    log.info("backend auto: %s runs on %s (%s)", path.name, backend, why)


def _open_auto(path: Path, native: str, threads: int | None, device: str | None,
               cache_dir: str | Path | None, kw: dict[str, Any]) -> Engine:
    """The fastest backend for ``path`` that works here; see ``open_engine``."""
    if native == "onnxruntime":
        if _wants_gpu(device) and device is None and "providers" not in kw and _ort_has_cuda():
            device = "cuda"
            _choose(path, "onnxruntime", "CUDA execution provider offered by onnxruntime-gpu")
        else:
            _choose(path, "onnxruntime", "the file is an ONNX model")
        return BACKENDS["onnxruntime"](path, threads, device, **kw)
    if native == "tensorrt":
        _choose(path, "tensorrt", "the file is a TensorRT engine")
        return BACKENDS["tensorrt"](path, threads, device, **kw)

    # A checkpoint: build it for the fastest runtime, PyTorch as the last resort.
    torch_only = sorted(TORCH_OPTIONS & set(kw))
    if torch_only:
        _choose(path, "torch", f"options {torch_only} only apply to PyTorch")
        return BACKENDS["torch"](path, threads, device, **kw)
    from engines.build import build

    failures: list[str] = []
    if _wants_gpu(device) and "providers" not in kw:
        why_not = _tensorrt_unavailable()
        if why_not is None:
            try:
                built = build(path, backend="tensorrt", out_dir=cache_dir,
                              device=_gpu_index(device or "cuda"))
            except Exception as exc:  # noqa: BLE001 - any build failure falls back, with its reason
                reraise_interrupt(exc)
                failures.append(f"the TensorRT build failed ({_first_line(exc)})")
                log.warning("backend auto: %s; trying ONNX Runtime", failures[-1])
            else:
                _choose(path, "tensorrt", "tensorrt imports and torch sees a CUDA GPU; "
                        f"engine {built.name} from the cache")
                return BACKENDS["tensorrt"](built, threads, device, **kw)
        else:
            log.info("backend auto: TensorRT not used for %s: %s", path.name, why_not)

    try:
        built = build(path, backend="onnxruntime", out_dir=cache_dir)
    except Exception as exc:  # noqa: BLE001 - exporter/validation/missing-package failures alike
        reraise_interrupt(exc)
        failures.append(f"building it for ONNX Runtime failed ({_first_line(exc)})")
        return _open_torch_fallback(path, threads, device, kw, failures, exc)
    ort_device = device
    if _wants_gpu(device) and "providers" not in kw and _ort_has_cuda():
        ort_device = "cuda" if device is None else device
        where = "CUDA execution provider"
    else:
        where = "CPU"
    _choose(path, "onnxruntime", f"{where}; ONNX Runtime runs the presets 1.6-2.7x faster than "
            f"PyTorch on CPU; model {built.name} from the cache")
    return BACKENDS["onnxruntime"](built, threads, ort_device, **kw)


def _open_torch_fallback(path: Path, threads: int | None, device: str | None, kw: dict[str, Any],
                         failures: list[str], cause: BaseException) -> Engine:
    """PyTorch after failed builds; a checkpoint torch cannot load is bad input: raise that."""
    kw = {k: v for k, v in kw.items() if k != "providers"}
    if device is None and _torch_has_cuda():
        device = "cuda"
    try:
        engine = BACKENDS["torch"](path, threads, device, **kw)
    except Exception as exc:
        raise exc from cause
    log.warning("backend auto: running %s with PyTorch because %s", path.name, "; ".join(failures))
    return engine
