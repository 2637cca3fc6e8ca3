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
    import importlib.util

    if "torch" in sys.modules or importlib.util.find_spec("torch") is not None:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
    return info


def _variants(backend: str, device: str, precisions: list[str], graphs: list[str],
              channels_last: bool) -> list[dict]:
    """The engine options to time for one backend: the precision x CUDA-graphs matrix.

    PyTorch takes every combination (``half`` for fp16); a built TensorRT engine takes the
    precision it was built with; ONNX Runtime runs its fp32 graph only. Combinations a
    backend cannot run come back with a ``skipped`` reason, so a matrix asked for on the
    wrong machine still prints every row and says why each one is empty.
    """
    out = []
    for prec in precisions:
        for g in graphs:
            row = {"precision": prec, "cuda_graphs": g == "on", "channels_last": channels_last}
            opts: dict = {}
            why = None
            if backend == "torch":
                opts = {"half": prec == "fp16", "channels_last": channels_last, "cuda_graphs": g == "on"}
                if g == "on" and not device.startswith("cuda"):
                    why = "CUDA graphs need --device cuda"
            elif g == "on":
                why = "CUDA graphs are a PyTorch option (--backend torch)"
            elif channels_last:
                why = "channels-last is a PyTorch option (--backend torch)"
            elif backend == "onnxruntime" and prec != "fp32":
                why = "ONNX Runtime runs the fp32 graph; fp16 is for torch and tensorrt"
            out.append({"row": row, "opts": opts, "skipped": why})
    return out


def _skipped_row(batch: int, why: str) -> dict:
    nan = float("nan")
    return {"batch": int(batch), "skipped": why, "p50_ms": nan, "median_ms": nan, "p95_ms": nan,
            "items_per_s": nan}


def _bench_models(a: argparse.Namespace) -> list[dict]:
    """Model-only latency rows: model x backend x precision x CUDA graphs x batch size."""
    from engines import open_engine
    from engines.bench import bench_model

    from poselive import assets
    from poselive.errors import PoseliveError

    if a.model:
        models = [str(assets.resolve_model(m, "pose", "--model")) for m in a.model]
    else:
        models = [str(assets.default_model("det", "--model")), str(assets.default_model("pose", "--model"))]
    device = getattr(a, "device", None) or "cpu"
    precisions = getattr(a, "precision", None) or ["fp32"]
    graphs = getattr(a, "cuda_graphs", None) or ["off"]
    channels_last = bool(getattr(a, "channels_last", False))
    rows = []
    for m in models:
        for be in _bench_backends(m, a.backend):
            for v in _variants(be, device, precisions, graphs, channels_last):
                info = {"model": m, "backend": be, "device": device, **v["row"]}
                why = v["skipped"]
                result = []
                if why is None:
                    try:
                        path = _bench_target(m, be, v["row"]["precision"])
                        engine = open_engine(path, backend=be, threads=a.threads, device=device, **v["opts"])
                        try:
                            result = bench_model(engine, batch_sizes=tuple(a.batch), iters=a.iters)
                        finally:
                            engine.close()
                    except PoseliveError as exc:  # a combination this machine cannot run
                        why = str(exc).splitlines()[0]
                if why is not None:
                    result = [_skipped_row(b, why) for b in a.batch]
                for r in result:
                    rows.append({**r, **info})
    return rows


def _bench_backends(model: str, backend: str) -> list[str]:
    """The backends to measure a model with: a checkpoint on PyTorch and, built to ONNX,
    on ONNX Runtime side by side (``auto``); an ONNX file on ONNX Runtime; else as asked."""
    is_ckpt = model.endswith((".pt", ".pth", ".ckpt"))
    if backend == "auto":
        return ["torch", "onnxruntime"] if is_ckpt else ["onnxruntime"]
    return [backend]


def _bench_target(model: str, backend: str, precision: str = "fp32") -> str:
    """The file ``backend`` runs for ``model``: a checkpoint is built for ONNX Runtime or
    TensorRT through the engine cache (at ``precision`` for TensorRT)."""
    if backend in ("onnxruntime", "tensorrt") and model.endswith((".pt", ".pth", ".ckpt")):
        from engines.build import build

        return str(build(model, backend=backend, precision=precision if backend == "tensorrt" else "fp32"))
    return model


def _format_row(r: dict, markdown: bool = False) -> str:
    """One model-only row as a console line or a Markdown table row (docs/benchmarks.md)."""
    what = f"{r['precision']}{' graphs' if r.get('cuda_graphs') else ''}{' NHWC' if r.get('channels_last') else ''}"
    if markdown:
        name = r["model"].rsplit("/", 1)[-1]
        if r.get("skipped"):
            return f"| {name} | {r['backend']} | {r['device']} | {what} | {r['batch']} | — | — | — ({r['skipped']}) |"
        return (f"| {name} | {r['backend']} | {r['device']} | {what} | {r['batch']} | {r['p50_ms']:.2f} | "
                f"{r['p95_ms']:.2f} | {r['items_per_s']:.1f} |")
    head = f"{r['model']:<40} {r['backend']:<12} {r['device']:<7} {what:<18} batch {r['batch']:>3}  "
    if r.get("skipped"):
        return head + f"skipped: {r['skipped']}"
    return head + f"p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  {r['items_per_s']:8.1f} items/s"


def run_bench(a: argparse.Namespace) -> int:
    """Run the benchmark the flags ask for and print a table (and JSON if asked)."""
    result: dict = {"machine": machine_info()}
    if a.model_only:
        rows = _bench_models(a)
        result["model_only"] = rows
        for r in rows:
            print(_format_row(r, markdown=getattr(a, "markdown", False)))
        if rows and all(r.get("skipped") for r in rows):
            print("poselive: error: no benchmark row could run here (see the reasons above)", file=sys.stderr)
            return 1
    else:
        from poselive.apps.options import pipeline_options
        from poselive.apps.pipeline import build_pipeline

        pipe = build_pipeline(pipeline_options(a))
        stats = pipe.graph.run(max_frames=a.max_frames)
        result["pipeline"] = stats.to_dict()
        result["source"] = a.source
        from poselive.apps.summary import summary_lines

        print("\n".join(summary_lines(stats, pipe.models)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0
