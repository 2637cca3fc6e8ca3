"""`poselive bench`: whole-pipeline fps with per-stage statistics, or model-only latency."""

from __future__ import annotations

import argparse
import json
import platform
import sys

import numpy as np


def machine_info() -> dict:
    """A short description of the machine a benchmark ran on."""
    import os

    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version()}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        pass
    return info


def _bench_models(a: argparse.Namespace) -> list[dict]:
    from engines import open_engine
    from engines.bench import bench_model

    from poselive.apps.pipeline import DEFAULT_DET, DEFAULT_POSE, _default_model

    models = a.model or [str(_default_model(DEFAULT_DET, "--model")), str(_default_model(DEFAULT_POSE, "--model"))]
    rows = []
    for m in models:
        for be, path in _bench_targets(m, a.backend):
            engine = open_engine(path, backend=be, threads=a.threads)
            for r in bench_model(engine, batch_sizes=tuple(a.batch), iters=a.iters):
                r.update(model=m, backend=be)
                rows.append(r)
            engine.close()
    return rows


def _bench_targets(model: str, backend: str) -> list[tuple[str, str]]:
    """(backend, file) pairs to measure for one model.

    A checkpoint is measured with PyTorch and, built to ONNX through the engine cache,
    with ONNX Runtime side by side; an ONNX file only with ONNX Runtime.
    """
    is_ckpt = model.endswith((".pt", ".pth", ".ckpt"))
    if backend == "auto":
        backends = ["torch", "onnxruntime"] if is_ckpt else ["onnxruntime"]
    else:
        backends = [backend]
    targets = []
    for be in backends:
        if be in ("onnxruntime", "tensorrt") and is_ckpt:
            from engines.build import build

            targets.append((be, str(build(model, backend=be))))
        else:
            targets.append((be, model))
    return targets


def run_bench(a: argparse.Namespace) -> int:
    """Run the benchmark the flags ask for and print a table (and JSON if asked)."""
    result: dict = {"machine": machine_info()}
    if a.model_only:
        rows = _bench_models(a)
        result["model_only"] = rows
        for r in rows:
            print(f"{r['model']:<48} {r['backend']:<12} batch {r['batch']:>3}  "
                  f"p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  {r['items_per_s']:8.1f} items/s")
    else:
        from poselive.apps.cli import _pipeline_options
        from poselive.apps.pipeline import build_pipeline

        if a.source is None:
            from poselive.apps.pipeline import ASSETS

            a.source = str(ASSETS / "sample.mp4")
        pipe = build_pipeline(_pipeline_options(a))
        stats = pipe.graph.run(max_frames=a.max_frames)
        result["pipeline"] = stats.to_dict()
        result["source"] = a.source
        print(stats.summary())
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0
