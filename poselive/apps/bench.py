"""`poselive bench`: whole-pipeline fps with per-stage statistics, or model-only latency."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

from poselive.interrupts import reraise_interrupt


def machine_info() -> dict:
    """A short description of the machine a benchmark ran on."""
    import os

    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version()}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError as exc:  # pragma: no cover
        reraise_interrupt(exc)
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


# -- the whole pipeline ------------------------------------------------------------------
def _load_average() -> float | None:
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _config_parser() -> argparse.ArgumentParser:
    """The flags a ``--compare`` configuration may set: every pipeline flag, --realtime
    and --no-render; unset flags keep the command line's values."""
    from poselive.apps.options import add_flags, add_pipeline_flags, parser

    p = parser("--compare CONFIG", argument_default=argparse.SUPPRESS, add_help=False)
    add_pipeline_flags(p)
    add_flags(p, "realtime")
    p.add_argument("--no-render", action="store_true")
    for action in p._actions:
        action.default = argparse.SUPPRESS
    return p


def _configs(a: argparse.Namespace) -> list[tuple[str, argparse.Namespace]]:
    """(label, flags) of every configuration to run: the command line's alone, or each
    ``--compare`` string on top of it."""
    import copy
    import shlex

    from poselive.errors import ConfigError

    if not a.compare:
        return [("this run", a)]
    p = _config_parser()
    out = []
    for text in a.compare:
        ns = copy.copy(a)
        try:
            words = shlex.split(text)
            extra, rest = p.parse_known_args(words)
        except (ValueError, SystemExit) as exc:
            raise ConfigError(f"--compare {text!r}: not a valid set of flags ({exc})") from None
        if rest:
            raise ConfigError(f"--compare {text!r}: unknown flag(s) {' '.join(rest)}; a configuration takes "
                              f"pipeline flags (--det, --pose, --threads, --det-interval, ...), --realtime "
                              f"and --no-render")
        vars(ns).update(vars(extra))
        out.append((text.strip() or "(defaults)", ns))
    return out


class _Counter:
    """``on_result``: counts frames and persons that left the last stage, and keeps each
    frame's end-to-end latency with its finishing time (for drift over long runs)."""

    def __init__(self) -> None:
        import time

        self.frames = 0
        self.persons = 0
        self.t0 = time.perf_counter()
        self.samples: list[tuple[float, float]] = []  # (seconds since start, latency ms)

    def __call__(self, packet) -> None:
        import time

        now = time.perf_counter()
        self.frames += 1
        self.persons += 0 if packet.poses is None else len(packet.poses)
        if packet.capture_time:
            self.samples.append((now - self.t0, 1000.0 * (now - packet.capture_time)))

    def drift(self, window_s: float = 60.0) -> dict | None:
        """End-to-end p50/p95 over the first and the last ``window_s`` seconds (runs at
        least twice that long), else None."""
        if not self.samples or self.samples[-1][0] - self.samples[0][0] < 2 * window_s:
            return None
        t = np.array([s[0] for s in self.samples])
        lat = np.array([s[1] for s in self.samples])
        first, last = lat[t <= t[0] + window_s], lat[t >= t[-1] - window_s]
        out = {"window_s": window_s}
        for name, part in (("first", first), ("last", last)):
            out[f"{name}_p50_ms"] = float(np.percentile(part, 50))
            out[f"{name}_p95_ms"] = float(np.percentile(part, 95))
        out["p95_change"] = out["last_p95_ms"] / out["first_p95_ms"] - 1 if out["first_p95_ms"] else None
        return out


def _bench_one(ns: argparse.Namespace, models_cache: dict, tmp: str) -> dict:
    """One measured run of the real graph (after a warm-up run with the same models)."""
    import os
    import resource
    import time

    from poselive.apps.options import pipeline_options
    from poselive.apps.pipeline import build_pipeline, default_threads, open_models, pose_workers

    render = not ns.no_render
    counter = _Counter()
    opts = pipeline_options(ns, render=render, out=os.path.join(tmp, "bench.mp4") if render else None,
                            on_result=counter, loop=bool(getattr(ns, "loop", False)))
    key = (opts.det, opts.pose, opts.backend, opts.threads)
    if key not in models_cache:
        models_cache[key] = open_models(opts)
    models = models_cache[key]
    if ns.warmup > 0:
        # Warm the engines (first calls allocate) and the file cache, outside the timing.
        warm = pipeline_options(ns, render=render, out=os.path.join(tmp, "warmup.mp4") if render else None)
        build_pipeline(warm, models).graph.run(max_frames=ns.warmup, handle_signals=False)
    pipe = build_pipeline(opts, models)
    load = _load_average()
    counter.__init__()  # the clock of the measured run
    r0, c0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    stats = pipe.graph.run(max_frames=ns.max_frames)
    r1, c1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if stats.error:
        from poselive.errors import PoseliveError

        raise PoseliveError(f"the benchmark run failed: {stats.error}")
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / max(c1 - c0, 1e-9)
    stages = {}
    for st in [stats.source, *stats.stages.values()]:
        stages[st.name] = {"p50_ms": st.p50_ms, "p95_ms": st.p95_ms, "p99_ms": st.p99_ms, "mean_ms": st.mean_ms,
                           "utilisation": st.utilisation, "busy_s": st.busy_s, "drops": st.drops,
                           "queue_max": st.queue_max_depth, "queue_capacity": st.queue_capacity}
    # The slowest stage's busy time per frame sets the best throughput the graph could
    # reach; the source is left out (its time includes waiting for a paced file).
    busiest = max(stats.stages.values(), key=lambda st: st.busy_s / max(st.frames, 1))
    ideal = busiest.frames / busiest.busy_s if busiest.busy_s > 0 else None
    threads = opts.threads or default_threads()
    threads = {"detector": threads, "pose": threads, "pose_calls": pose_workers(opts, models.pose_engine)}
    src = pipe.source
    return {
        "models": {role: os.path.basename(path) for role, (path, _) in pipe.models.items()},
        "model_paths": {role: path for role, (path, _) in pipe.models.items()},
        "backend": sorted({be for _, be in pipe.models.values()}),
        "threads_per_model": threads,
        "source": {"name": str(ns.source), "fps": src.fps, "size": list(src.size) if src.size else None,
                   "live": bool(src.is_live), "realtime": bool(opts.realtime)},
        "render": render, "det_interval": opts.det_interval,
        "frames": stats.frames_out, "frames_in": stats.frames_in, "wall_s": stats.wall_time_s,
        "fps": stats.fps, "ideal_fps": ideal, "slowest_stage": busiest.name,
        "efficiency": stats.fps / ideal if ideal else None,
        "latency_p50_ms": stats.latency_p50_ms, "latency_p95_ms": stats.latency_p95_ms,
        "drops": stats.drops, "persons_per_frame": counter.persons / max(counter.frames, 1),
        "cpu_percent": 100.0 * cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "load_average": load, "stages": stages, "latency_drift": counter.drift(),
        "pipeline": stats.to_dict(),
    }


_NUMERIC = ("fps", "ideal_fps", "efficiency", "latency_p50_ms", "latency_p95_ms", "drops", "persons_per_frame",
            "cpu_percent", "peak_rss_mb", "wall_s")


def _median_run(runs: list[dict]) -> dict:
    """One run's fields with every number the median over the runs (stages included)."""
    import statistics

    def med(values):
        vals = [v for v in values if v is not None]
        return statistics.median(vals) if vals else None

    out = dict(runs[-1])
    for k in _NUMERIC:
        out[k] = med(r[k] for r in runs)
    out["stages"] = {name: {f: med(r["stages"][name][f] for r in runs if name in r["stages"])
                            for f in runs[-1]["stages"][name]} for name in runs[-1]["stages"]}
    out["fps_runs"] = [r["fps"] for r in runs]
    out.pop("pipeline", None)
    return out


def _f(x: float | None, fmt: str = ".1f", unit: str = "") -> str:
    return "-" if x is None else f"{x:{fmt}}{unit}"


def _aligned(rows: list[list[str]], right_from: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i < right_from else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


def _latency_note(m: dict) -> str:
    if m["source"]["live"] or m["source"]["realtime"]:
        return "from each frame's arrival to the output"
    return "from read to output: on a file this is mostly waiting in the lossless queues; --realtime for live latency"


def _machine_line(machine: dict) -> str:
    ort = f", ONNX Runtime {machine['onnxruntime']}" if machine.get("onnxruntime") else ""
    return (f"{machine.get('cpu_name') or machine['cpu']}, {machine['cores']} cores, Python {machine['python']}{ort}, "
            f"load average {_f(machine.get('load_average'), '.1f')}")


def format_report(configs: list[dict], machine: dict, frames: int, warmup: int, rounds: int) -> list[str]:
    """The readable report: one configuration as a block and a stage table; several side
    by side with ratios against the first."""
    lines = []
    first = configs[0]["median"]
    src = first["source"]
    size = "x".join(str(v) for v in src["size"]) if src["size"] else "?"
    lines.append(f"poselive bench: {src['name']} ({size}, {_f(src['fps'], '.1f')} fps), {frames} frames after "
                 f"{warmup} warm-up, {rounds} round{'s' if rounds != 1 else ''}"
                 f"{' interleaved' if len(configs) > 1 and rounds > 1 else ''}")
    lines.append(f"{'machine':<12}{_machine_line(machine)}")
    if len(configs) == 1:
        m = first
        rows = [["models", f"detector {m['models'].get('detector')}, pose {m['models'].get('pose')}"],
                ["backend", f"{', '.join(m['backend'])}, CPU threads: detector {m['threads_per_model']['detector']}, "
                            f"pose {m['threads_per_model']['pose']} x {m['threads_per_model']['pose_calls']} "
                            f"concurrent call{'s' if m['threads_per_model']['pose_calls'] != 1 else ''}"],
                ["work", ("decode, detect" + (f" every {m['det_interval']} frames" if m['det_interval'] > 1 else "")
                          + ", pose, track" + (", draw, H.264 encode" if m["render"] else ", no render")
                          + (", paced at the file's frame rate (--realtime)" if src["realtime"] else ""))],
                ["throughput", f"{_f(m['fps'], '.2f')} fps; the slowest stage ({m['slowest_stage']}) allows "
                               f"{_f(m['ideal_fps'], '.2f')} fps: {_f(100 * m['efficiency'] if m['efficiency'] else None, '.0f')} %"],
                ["end-to-end", f"p50 {_f(m['latency_p50_ms'])} ms, p95 {_f(m['latency_p95_ms'])} ms "
                               f"({_latency_note(m)})"],
                ["drops", str(m["drops"])],
                *([["drift", f"end-to-end p95 {m['latency_drift']['first_p95_ms']:.1f} ms over the first minute, "
                             f"{m['latency_drift']['last_p95_ms']:.1f} ms over the last "
                             f"({100 * m['latency_drift']['p95_change']:+.0f} %)"]]
                  if m.get("latency_drift") and m["latency_drift"].get("p95_change") is not None else []),
                ["persons", f"{m['persons_per_frame']:.2f} per frame"],
                ["process", f"CPU {m['cpu_percent']:.0f} % (100 % = one core), peak RSS {m['peak_rss_mb']:.0f} MB"]]
        lines += [f"{k:<12}{v}" for k, v in rows]
        lines.append("")
        table = [["stage", "p50 ms", "p95 ms", "p99 ms", "util", "queue", "drops"]]
        for name, st in m["stages"].items():
            q = f"{st['queue_max']:.0f}/{st['queue_capacity']:.0f}" if st["queue_capacity"] else "-"
            table.append([name, _f(st["p50_ms"]), _f(st["p95_ms"]), _f(st["p99_ms"]),
                          _f(100 * st["utilisation"], ".0f", " %"), q, _f(st["drops"], ".0f")])
        lines += _aligned(table)
        return lines
    # several configurations, side by side
    base = first["fps"]
    head = ["", *[c["label"] for c in configs]]
    rows = [head,
            ["models", *[" + ".join(Path(m).stem for m in c["median"]["models"].values()) for c in configs]],
            ["backend", *[f"{', '.join(c['median']['backend'])}" for c in configs]],
            ["threads det/pose", *[f"{c['median']['threads_per_model']['detector']}/"
                                   f"{c['median']['threads_per_model']['pose']}x{c['median']['threads_per_model']['pose_calls']}"
                                   for c in configs]],
            ["render", *["draw + H.264" if c["median"]["render"] else "no" for c in configs]],
            ["fps (median)", *[_f(c["median"]["fps"], ".2f") for c in configs]],
            ["fps per round", *[" ".join(f"{x:.1f}" for x in c["median"]["fps_runs"]) for c in configs]],
            ["vs first", *[f"{c['median']['fps'] / base:.2f}x" if base else "-" for c in configs]],
            ["of slowest stage", *[_f(100 * c["median"]["efficiency"] if c["median"]["efficiency"] else None, ".0f", " %")
                                   for c in configs]],
            ["e2e p50 ms", *[_f(c["median"]["latency_p50_ms"]) for c in configs]],
            ["e2e p95 ms", *[_f(c["median"]["latency_p95_ms"]) for c in configs]],
            ["drops", *[_f(c["median"]["drops"], ".0f") for c in configs]],
            ["persons/frame", *[_f(c["median"]["persons_per_frame"], ".2f") for c in configs]],
            ["CPU %", *[_f(c["median"]["cpu_percent"], ".0f") for c in configs]],
            ["peak RSS MB", *[_f(c["median"]["peak_rss_mb"], ".0f") for c in configs]]]
    names = list(dict.fromkeys(n for c in configs for n in c["median"]["stages"]))
    rows.append(["stage: p50/p95/p99 ms, util", *["" for _ in configs]])
    for n in names:
        cells = []
        for c in configs:
            st = c["median"]["stages"].get(n)
            cells.append("-" if st is None else f"{_f(st['p50_ms'])}/{_f(st['p95_ms'])}/{_f(st['p99_ms'])}, "
                                                f"{_f(100 * st['utilisation'], '.0f')} %")
        rows.append([f"  {n}", *cells])
    lines += _aligned(rows)
    return lines


def run_pipeline_bench(a: argparse.Namespace) -> dict:
    """Run every configuration ``rounds`` times, interleaved; print the report; return the
    JSON result."""
    import tempfile

    configs = _configs(a)
    rounds = a.rounds if a.rounds else (3 if len(configs) > 1 else 1)
    machine = machine_info()
    machine["cpu_name"] = _cpu_name()
    machine["load_average"] = _load_average()
    runs: dict[str, list[dict]] = {label: [] for label, _ in configs}
    models_cache: dict = {}
    with tempfile.TemporaryDirectory(prefix="poselive-bench-") as tmp:
        for rnd in range(rounds):
            for label, ns in configs:
                r = _bench_one(ns, models_cache, tmp)
                runs[label].append(r)
                if len(configs) > 1 or rounds > 1:
                    print(f"round {rnd + 1}/{rounds} {label}: {r['fps']:.2f} fps", file=sys.stderr, flush=True)
    machine["load_average_after"] = _load_average()
    out = [{"label": label, "runs": runs[label], "median": _median_run(runs[label])} for label, _ in configs]
    for line in format_report(out, machine, a.max_frames, a.warmup, rounds):
        print(line)
    base = out[0]["median"]["fps"]
    result = {"machine": machine, "frames": a.max_frames, "warmup": a.warmup, "rounds": rounds,
              "configs": [{"label": c["label"], **c["median"]} for c in out],
              "ratios": {c["label"]: c["median"]["fps"] / base for c in out} if base else {},
              "runs": {c["label"]: [{k: v for k, v in r.items() if k != "pipeline"} for r in c["runs"]] for c in out},
              "pipeline": out[0]["runs"][-1]["pipeline"], "source": str(a.source)}
    return result


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
        result = run_pipeline_bench(a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0
