"""The engine protocol shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (None for dynamic dimensions) and numpy dtype name of one tensor."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


@runtime_checkable
class Engine(Protocol):
    """What the pipeline, the benchmark and the evaluator need from a model runtime."""

    backend: str  # "onnxruntime", "torch", "tensorrt"
    spec: dict[str, Any]  # the model spec; {} for external models without one
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; returns outputs by name as numpy arrays."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...
