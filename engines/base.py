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


class SerializedEngine:
    """An engine that several threads share, one ``run`` at a time.

    For backends whose run is not re-entrant (a TensorRT execution context, PyTorch with
    CUDA graphs and their static buffers). Everything else reads through to the engine.
    """

    def __init__(self, engine: Engine) -> None:
        import threading

        self._engine = engine
        self._lock = threading.Lock()

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self._lock:
            return self._engine.run(feeds)

    def close(self) -> None:
        with self._lock:
            self._engine.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def __repr__(self) -> str:
        return f"SerializedEngine({self._engine!r})"


def shareable(engine: Engine) -> Engine:
    """``engine`` ready to be called from several threads at once: ONNX Runtime sessions
    allow concurrent runs and are returned as they are; other backends are serialized."""
    if getattr(engine, "backend", None) == "onnxruntime":
        return engine
    return SerializedEngine(engine)
