"""Model-only benchmark: latency and throughput of one engine at a few batch sizes."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from engines.base import Engine
from poselive.errors import ConfigError


def _fill_shape(shape: tuple[int | None, ...], batch: int, spec: dict[str, Any]) -> tuple[int, ...]:
    """Concrete input shape: batch first, dynamic H/W from the spec's input size."""
    w, h = (int(v) for v in spec.get("input_size", (192, 256)))
    dims = list(shape) if shape else [None, 3, h, w]
    dims[0] = batch
    rest = dims[1:]
    if len(rest) == 3 and None in rest:
        # NCHW when the channel count comes first, else NHWC.
        hw = (1, 2) if rest[0] in (1, 3) else (0, 1)
        rest[hw[0]] = h if rest[hw[0]] is None else rest[hw[0]]
        rest[hw[1]] = w if rest[hw[1]] is None else rest[hw[1]]
        rest = [3 if d is None else d for d in rest]
    if any(d is None for d in rest):
        raise ConfigError(f"cannot choose a benchmark input for shape {shape}; the spec needs input_size")
    return (batch, *(int(d) for d in rest))


def make_feeds(engine: Engine, batch: int, seed: int = 0,
               input_size: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """Random inputs of the engine's dtypes at the given batch size; dynamic H/W from
    ``input_size`` (w, h) when given, else from the spec."""
    rng = np.random.default_rng(seed)
    spec = dict(engine.spec or {})
    if input_size is not None:
        spec["input_size"] = list(input_size)
    feeds = {}
    for t in engine.inputs:
        shape = _fill_shape(t.shape, batch, spec)
        if np.issubdtype(np.dtype(t.dtype), np.integer):
            feeds[t.name] = rng.integers(0, 256, shape).astype(t.dtype)
        else:
            feeds[t.name] = rng.standard_normal(shape).astype(t.dtype)
    return feeds


def bench_model(engine: Engine, batch_sizes: tuple[int, ...] = (1, 8), warmup: int = 5,
                iters: int = 30, input_size: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Median / p95 latency (ms) and throughput (items/s) of ``engine.run`` per batch size.

    ``input_size`` (w, h) sets dynamic H/W for models whose spec does not (external ONNX).

    A batch size that the engine cannot take (a fixed-batch model) is skipped with a
    row that says why, so one odd model does not stop a benchmark run.
    """
    rows = []
    for b in batch_sizes:
        fixed = engine.inputs[0].shape[0] if engine.inputs and engine.inputs[0].shape else None
        if fixed is not None and fixed != b:
            nan = float("nan")  # keeps the row printable by tables that expect the numbers
            rows.append({"batch": int(b), "skipped": f"the model takes batch {fixed} only",
                         "p50_ms": nan, "median_ms": nan, "p95_ms": nan, "items_per_s": nan})
            continue
        feeds = make_feeds(engine, int(b), input_size=input_size)
        for _ in range(max(0, warmup)):
            engine.run(feeds)
        times = np.empty(max(1, iters))
        for i in range(len(times)):
            t0 = time.perf_counter()
            engine.run(feeds)
            times[i] = time.perf_counter() - t0
        p50 = float(np.median(times)) * 1e3
        rows.append({"batch": int(b), "iters": int(len(times)), "p50_ms": p50, "median_ms": p50,
                     "p95_ms": float(np.percentile(times, 95)) * 1e3,
                     "mean_ms": float(times.mean()) * 1e3,
                     "items_per_s": float(b / np.median(times))})
    return rows
