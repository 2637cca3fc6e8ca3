"""Model-only benchmark: ONNX Runtime vs PyTorch (CPU), pose and detector presets.

Usage: ``THREADS=2 ROUNDS=5 ITERS=15 python benchmarks/model_only.py`` (from the repo root).
Random-weight presets (latency does not depend on the weights) are saved as checkpoints,
built for ONNX Runtime with ``engines.build.build`` and timed with
``engines.bench.bench_model``. Rounds are interleaved (ORT, torch, ORT, torch, ...) so
that load from other processes hits both backends alike; each row keeps the round with
the lowest median. Prints Markdown table rows for docs/benchmarks.md.
"""
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from engines.bench import bench_model  # noqa: E402
from engines.build import build  # noqa: E402
from engines.onnxruntime import OrtEngine  # noqa: E402
from engines.torch import TorchEngine  # noqa: E402
from poselive.models import build_model, preset_spec, save_checkpoint  # noqa: E402


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (the machine type elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main() -> None:
    """Time both backends on both presets and print the table rows."""
    threads = int(os.environ.get("THREADS", "2"))
    rounds = int(os.environ.get("ROUNDS", "3"))
    iters = int(os.environ.get("ITERS", "20"))
    torch.set_num_threads(threads)
    tmp = Path(tempfile.mkdtemp())
    best = {}
    for name, sizes in (("poselive-pose-t", (1, 8)), ("poselive-det-nano", (1,))):
        spec = preset_spec(name)
        net = build_model(spec).eval()
        ckpt = save_checkpoint(tmp / f"{name}.pt", net, spec)
        onnx_path = build(ckpt, backend="onnxruntime", out_dir=tmp / "cache", max_batch=8)
        engines = [OrtEngine(onnx_path, threads=threads), TorchEngine(net, spec)]
        for _ in range(rounds):
            for eng in engines:
                for r in bench_model(eng, batch_sizes=sizes, warmup=3, iters=iters):
                    k = (name, eng.backend, r["batch"])
                    if k not in best or r["p50_ms"] < best[k]["p50_ms"]:
                        best[k] = {**r, "model": name, "backend": eng.backend, "input_size": spec["input_size"]}
        for eng in engines:
            eng.close()
    for r in best.values():
        print(f"| {r['model']} {r['input_size'][0]}x{r['input_size'][1]} | {r['backend']} | {r['batch']} | "
              f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['items_per_s']:.1f} |")
    print("machine:", cpu_name(), os.cpu_count(), "cores, load", os.getloadavg(), "torch", torch.__version__,
          "onnxruntime", ort.__version__, "threads", threads)


if __name__ == "__main__":
    main()
