"""Helpers for stage tests: tiny real ONNX models exported with torch, and a call counter."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest


def export_tiny(module: Any, path: Path, input_shape: tuple[int, ...], output_names: list[str],
                dynamic_batch: bool = True, spec: dict | None = None) -> Path:
    """Export ``module`` to ONNX at ``path`` (spec embedded as poselive_spec when given)."""
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    dummy = torch.zeros(input_shape)
    axes = {"input": {0: "batch"}, **{n: {0: "batch"} for n in output_names}} if dynamic_batch else None
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notices
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module.eval(), (dummy,), str(path), input_names=["input"],
                          output_names=output_names, dynamic_axes=axes, opset_version=17, dynamo=False)
    if spec is not None:
        model = onnx.load(str(path))
        entry = model.metadata_props.add()
        entry.key, entry.value = "poselive_spec", json.dumps(spec)
        onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def exporter() -> Callable[..., Path]:
    """The ``export_tiny`` function (skips when torch/onnx are absent)."""
    pytest.importorskip("torch")
    return export_tiny


class CountingEngine:
    """Wraps an engine and records the batch size of every run() call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.spec = inner.spec
        self.inputs = inner.inputs
        self.outputs = inner.outputs
        self.calls: list[int] = []

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls.append(int(next(iter(feeds.values())).shape[0]))
        return self.inner.run(feeds)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture()
def counting() -> Callable[[Any], CountingEngine]:
    """Factory wrapping an engine in a CountingEngine."""
    return CountingEngine
