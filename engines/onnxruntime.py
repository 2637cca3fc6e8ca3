"""ONNX Runtime backend: the embedded default, CPU unless a GPU provider is asked for.

Must not import torch: running an exported model needs only onnxruntime and numpy.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from engines.base import TensorInfo
from poselive.errors import ModelError

log = logging.getLogger(__name__)

SPEC_KEY = "poselive_spec"

# Short names accepted for providers, so callers need not spell ORT's class names.
PROVIDER_ALIASES: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}

_ORT_TYPES: dict[str, str] = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}


def _tensor_info(arg: Any) -> TensorInfo:
    """TensorInfo from an onnxruntime NodeArg; symbolic or unknown dims become None."""
    shape = tuple(d if isinstance(d, int) and d > 0 else None for d in (arg.shape or ()))
    return TensorInfo(arg.name, shape, _ORT_TYPES.get(arg.type, arg.type))


def resolve_providers(providers: Sequence[str] | str | None) -> list[str]:
    """Provider names to use: the requested ones ORT offers, always ending with CPU."""
    import onnxruntime as ort

    if providers is None:
        return ["CPUExecutionProvider"]
    if isinstance(providers, str):
        providers = [providers]
    available = set(ort.get_available_providers())
    chosen: list[str] = []
    for p in providers:
        name = PROVIDER_ALIASES.get(p.lower(), p)
        if name not in available:
            # Falling back is better than refusing to run, but it must be visible.
            log.warning("onnxruntime provider %s is not available here (have: %s); "
                        "install onnxruntime-gpu to use it. Falling back.",
                        name, ", ".join(sorted(available)))
            continue
        if name not in chosen:
            chosen.append(name)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def read_onnx_spec(metadata: dict[str, str], path: Path) -> dict[str, Any]:
    """The poselive spec from ONNX metadata_props, or {} for external models."""
    raw = metadata.get(SPEC_KEY)
    if raw is None:
        return {}
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelError(f"the '{SPEC_KEY}' metadata in {path} is not valid JSON ({exc}); "
                         "re-export the model with poselive") from exc
    if not isinstance(spec, dict):
        raise ModelError(f"the '{SPEC_KEY}' metadata in {path} is not a JSON object; "
                         "re-export the model with poselive")
    return spec


class OrtEngine:
    """An ONNX model run by ONNX Runtime, with its poselive spec (``{}`` if it has none)."""

    backend = "onnxruntime"

    def __init__(self, path: str | Path, threads: int | None = None,
                 providers: Sequence[str] | str | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"ONNX model not found: {self.path}; check the path "
                             "(or export one with: poselive export)")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Stages run in their own threads; one op-level thread pool per session is enough.
        opts.inter_op_num_threads = 1
        # The apps set this (poselive.apps.logs): 3 = errors only unless --verbose.
        severity = os.environ.get("POSELIVE_ORT_LOG_SEVERITY")
        if severity is not None and severity.isdigit():
            opts.log_severity_level = int(severity)
        if threads is not None:
            if threads < 1:
                raise ModelError(f"threads must be >= 1 (got {threads}) for {self.path}")
            opts.intra_op_num_threads = int(threads)
        self.threads = threads
        self.providers = resolve_providers(providers)
        try:
            self._session = ort.InferenceSession(str(self.path), sess_options=opts,
                                                 providers=self.providers)
        except Exception as exc:  # ORT raises its own exception types (InvalidProtobuf, Fail, ...)
            raise ModelError(f"cannot load {self.path} with onnxruntime: {exc}. "
                             "Is it a complete, valid ONNX file? Re-export or re-download it.") from exc
        self.providers = list(self._session.get_providers())
        meta = self._session.get_modelmeta().custom_metadata_map or {}
        self.spec: dict[str, Any] = read_onnx_spec(meta, self.path)
        self.inputs: list[TensorInfo] = [_tensor_info(a) for a in self._session.get_inputs()]
        self.outputs: list[TensorInfo] = [_tensor_info(a) for a in self._session.get_outputs()]
        self._output_names = [o.name for o in self.outputs]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; returns outputs by name as numpy arrays."""
        if self._session is None:
            raise ModelError(f"engine for {self.path} was closed; open it again")
        try:
            results = self._session.run(self._output_names, feeds)
        except Exception as exc:
            shapes = {k: (tuple(v.shape), str(v.dtype)) for k, v in feeds.items()}
            expected = {i.name: (i.shape, i.dtype) for i in self.inputs}
            raise ModelError(f"onnxruntime failed on {self.path.name} with inputs {shapes} "
                             f"(model expects {expected}): {exc}") from exc
        return dict(zip(self._output_names, results))

    def close(self) -> None:
        """Release the session."""
        self._session = None

    def __repr__(self) -> str:
        return f"OrtEngine({str(self.path)!r}, providers={self.providers})"
