"""The `poselive` command line: process, model-info, build, train, eval, bench."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Callable

from poselive import __version__
from poselive.errors import PoseliveError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register a sub-command handler under ``name``."""
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


def _parse_source(s: str) -> str | int:
    return int(s) if s.isdigit() else s


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--det", help="person detector model (ONNX, checkpoint or engine); default: shipped model")
    p.add_argument("--pose", help="pose model (ONNX, checkpoint or engine); default: shipped model")
    p.add_argument("--det-adapter", help="force the detector adapter (end2end, raw)")
    p.add_argument("--pose-adapter", help="force the pose adapter (simcc, heatmap, movenet)")
    p.add_argument("--backend", default="auto", choices=["auto", "onnxruntime", "torch", "tensorrt"])
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model (ONNX Runtime / torch)")
    p.add_argument("--det-threshold", type=float, default=0.3)
    p.add_argument("--kpt-threshold", type=float, default=0.3, help="keypoint score drawn above this")
    p.add_argument("--no-track", action="store_true", help="no tracker: persons get id null")
    p.add_argument("--det-interval", type=int, default=1,
                   help="run the detector every N frames; between runs boxes come from tracked poses")
    p.add_argument("--adaptive-interval", action="store_true",
                   help="raise the detection interval when a live source outpaces the pipeline")
    p.add_argument("--smooth", action="store_true", help="One-Euro smoothing of keypoints per track")
    p.add_argument("--smooth-min-cutoff", type=float, default=None, help="One-Euro min cutoff (Hz)")
    p.add_argument("--smooth-beta", type=float, default=None, help="One-Euro speed coefficient")
    p.add_argument("--trails", type=int, default=0, help="draw the last N positions of each track")


def _pipeline_options(a: argparse.Namespace, **extra):
    from poselive.apps.pipeline import PipelineOptions

    smoothing = None
    if a.smooth or a.smooth_min_cutoff is not None or a.smooth_beta is not None:
        smoothing = {}
        if a.smooth_min_cutoff is not None:
            smoothing["min_cutoff"] = a.smooth_min_cutoff
        if a.smooth_beta is not None:
            smoothing["beta"] = a.smooth_beta
    return PipelineOptions(
        source=_parse_source(a.source), det=a.det, pose=a.pose, det_adapter=a.det_adapter,
        pose_adapter=a.pose_adapter, backend=a.backend, threads=a.threads,
        det_threshold=a.det_threshold, kpt_threshold=a.kpt_threshold, track=not a.no_track,
        det_interval=max(1, a.det_interval), adaptive_interval=a.adaptive_interval,
        smoothing=smoothing, trails=a.trails, **extra)


@command("process")
def cmd_process(a: argparse.Namespace) -> int:
    """Run the pipeline over a source and write the requested outputs."""
    from poselive.apps.pipeline import build_pipeline
    from poselive.apps.progress import Progress

    if not (a.out or a.json or a.csv or a.show):
        print("poselive: nothing to write; give --out, --json, --csv and/or --show", file=sys.stderr)
        return 2
    if isinstance(a.source, list):
        if len(a.source) > 1:
            return _process_many(a)
        a.source = a.source[0]
    progress = Progress(enabled=not a.quiet)
    opts = _pipeline_options(a, out=a.out, json=a.json, csv=a.csv, on_result=progress.update,
                             render=bool(a.out or a.show),
                             source_options=_source_options(a))
    pipe = build_pipeline(opts)
    total = pipe.source.info.get("frames")
    if a.max_frames:
        total = min(total, a.max_frames) if total else a.max_frames
    progress.start(total=total, live=pipe.source.is_live)
    if a.show:
        from poselive.apps.viewer import run_viewer

        stats = run_viewer(pipe.graph, max_frames=a.max_frames, title=f"poselive — {a.source}")
    else:
        stats = pipe.graph.run(max_frames=a.max_frames)
    progress.close()
    print(f"{progress.frames} frames, {progress.persons} persons", file=sys.stderr)
    _print_summary(stats, pipe.outputs)
    if a.stats_json:
        with open(a.stats_json, "w") as f:
            json.dump(stats.to_dict(), f, indent=2)
    return 130 if getattr(stats, "interrupted", False) else 0


def _source_options(a: argparse.Namespace) -> dict:
    """Options for the source kind the SOURCE argument names (RTSP: transport, timeout)."""
    if str(a.source).startswith(("rtsp://", "rtsps://")):
        tries = a.rtsp_reconnect
        return {"transport": a.rtsp_transport, "timeout": a.rtsp_timeout,
                "reconnect": None if tries < 0 else tries}
    return {}


def _add_rtsp_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rtsp-transport", default="tcp", choices=["tcp", "udp"])
    p.add_argument("--rtsp-timeout", type=float, default=5.0, help="seconds to open / wait for a frame")
    p.add_argument("--rtsp-reconnect", type=int, default=10, metavar="TRIES",
                   help="reconnection tries when a stream drops (backoff 0.5 s doubling to 8 s); "
                        "0: stop at the first drop; -1: keep trying until stopped (default 10)")


def build_many(a: argparse.Namespace, sources: list, names: list[str], out: str | None = None,
               json_path: str | None = None, csv_path: str | None = None,
               render: bool = False) -> tuple[list, list]:
    """One pipeline per source, all sharing one opened detector and pose model.

    Output templates get each source's name for ``{name}``. Returns ``[(name, pipeline)]``
    and the names of sources that could not be opened (reported on stderr)."""
    from poselive.apps.pipeline import build_pipeline, open_models, output_for

    base = _pipeline_options(argparse.Namespace(**{**vars(a), "source": str(sources[0])}))
    models = open_models(base, shared=True)
    pipes, failed = [], []
    for src, name in zip(sources, names):
        sa = argparse.Namespace(**{**vars(a), "source": str(src)})
        try:
            opts = _pipeline_options(sa, out=output_for(out, name, True, "--out"),
                                     json=output_for(json_path, name, True, "--json"),
                                     csv=output_for(csv_path, name, True, "--csv"),
                                     render=render, source_options=_source_options(sa))
            pipes.append((name, build_pipeline(opts, models)))
            print(f"[{name}] {src}", file=sys.stderr)
        except PoseliveError as exc:
            failed.append(name)
            print(f"poselive: error: [{name}] {exc}", file=sys.stderr)
    return pipes, failed


def run_many(pipes: list, show: bool, max_frames: int | None = None) -> list:
    """Run ``build_many``'s pipelines side by side, as tiles of one window with ``show``;
    one ``GraphOutcome`` per pipeline (errors kept, not raised)."""
    from poselive.graph.multi import collect, run_graphs

    graphs, names = [p.graph for _, p in pipes], [n for n, _ in pipes]
    if not show:
        return run_graphs(graphs, names, max_frames=max_frames)
    from poselive.apps.viewer import run_viewer

    run_viewer(graphs, max_frames=max_frames, title="poselive", titles=names)
    return collect(graphs, names)


def _process_many(a: argparse.Namespace) -> int:
    """`process` with several sources: one graph per source, the models shared, side by
    side; a source that fails (at open or later) is reported and the others go on."""
    from poselive.apps.pipeline import output_for, source_names

    sources = list(a.source)
    names = source_names(sources)
    outs = {flag: getattr(a, attr) for flag, attr in (("--out", "out"), ("--json", "json"), ("--csv", "csv"),
                                                      ("--stats-json", "stats_json"))}
    for flag, template in outs.items():
        output_for(template, "x", several=True, flag=flag)  # a missing {name} fails before anything opens
    pipes, failed = build_many(a, sources, names, out=a.out, json_path=a.json, csv_path=a.csv,
                               render=bool(a.out or a.show))
    if not pipes:
        return 1
    outcomes = run_many(pipes, show=a.show, max_frames=a.max_frames)
    interrupted = False
    for (name, pipe), oc in zip(pipes, outcomes):
        _print_summary(oc.stats, pipe.outputs, prefix=f"[{name}] ")
        if oc.error is not None:
            failed.append(name)
            print(f"poselive: error: [{name}] {oc.error}", file=sys.stderr)
        if outs["--stats-json"]:
            with open(output_for(outs["--stats-json"], name, True, "--stats-json"), "w") as f:
                json.dump(oc.stats.to_dict(), f, indent=2)
        interrupted = interrupted or oc.stats.interrupted
    if failed:
        print(f"poselive: {len(failed)} of {len(sources)} sources failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 130 if interrupted else 0


def _print_summary(stats, outputs: list[str], prefix: str = "") -> None:
    print(f"{prefix}{stats.summary()}", file=sys.stderr)
    for o in outputs:
        print(f"{prefix}wrote {o}", file=sys.stderr)


@command("model-info")
def cmd_model_info(a: argparse.Namespace) -> int:
    """Print parameters, FLOPs and I/O shapes of a checkpoint, spec file or preset."""
    from poselive.models.info import format_model_info, model_info

    info = model_info(a.model)
    print(json.dumps(info, indent=2) if a.json else format_model_info(info))
    return 0


@command("build")
def cmd_build(a: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX, validate it and build an engine."""
    from engines.build import build

    t0 = time.perf_counter()
    path = build(a.checkpoint, backend=a.backend, precision=a.precision, max_batch=a.max_batch,
                 calib_data=a.calib_data, out_dir=a.out_dir, fold_preprocess=a.fold_preprocess)
    print(f"built {path} in {time.perf_counter() - t0:.1f} s")
    return 0


@command("train")
def cmd_train(a: argparse.Namespace) -> int:
    """Train a model from a config file."""
    from trainer.train import train_from_config

    bad = [kv for kv in a.set or [] if "=" not in kv]
    if bad:
        print(f"poselive: --set takes KEY=VALUE pairs, not {' '.join(bad)}", file=sys.stderr)
        return 2
    train_from_config(a.config, overrides=list(a.set or []))
    return 0


@command("eval")
def cmd_eval(a: argparse.Namespace) -> int:
    """COCO keypoint AP of a pose model, or person-box AP of a detector, on an annotated image set."""
    from trainer.evaluate import detector_results, evaluate, evaluate_detector, is_detector

    task = a.task if a.task != "auto" else ("detector" if is_detector(a.model) else "pose")
    if task == "detector":
        res = evaluate_detector(a.model, a.ann, a.images, out_json=a.json)
    else:
        det_results, extra = a.det_results, None
        if a.det:  # the whole pipeline: this detector's boxes at the pipeline's threshold
            det_results = detector_results(a.det, a.ann, a.images, score_threshold=a.det_threshold)
            extra = {"detector": str(a.det), "det_threshold": a.det_threshold}
        res = evaluate(a.model, a.ann, a.images, det_results=det_results, flip_test=a.flip_test,
                       out_json=a.json, extra=extra)
    print(json.dumps(res, indent=2))
    return 0


@command("bench")
def cmd_bench(a: argparse.Namespace) -> int:
    """Frames per second of the whole pipeline, or model-only latency per batch size."""
    from poselive.apps.bench import run_bench

    return run_bench(a)


@command("label")
def cmd_label(a: argparse.Namespace) -> int:
    """Pseudo-label images and videos with teacher models (COCO keypoint json)."""
    from poselive.labeling.cli import run as run_label

    return run_label(a)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of the `poselive` command."""
    p = argparse.ArgumentParser(prog="poselive", description="Real-time human pose estimation.")
    p.add_argument("--version", action="version", version=f"poselive {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    pp = sub.add_parser("process", help="annotate a video file, folder, camera or RTSP stream")
    pp.add_argument("source", nargs="+",
                    help="video file, image folder, camera index (0) or rtsp:// URL; several run side by "
                         "side (one graph each, models shared) and need {name} in output paths")
    pp.add_argument("--out", help="annotated H.264 MP4 to write")
    pp.add_argument("--json", help="per-frame keypoints as JSON Lines")
    pp.add_argument("--csv", help="one row per person per frame")
    pp.add_argument("--max-frames", type=int, default=None)
    pp.add_argument("--show", action="store_true", help="show the annotated frames in a window")
    pp.add_argument("--quiet", action="store_true", help="no progress bar")
    pp.add_argument("--stats-json", help="write the run's statistics (latency, fps, drops) here")
    _add_rtsp_flags(pp)
    _add_model_flags(pp)

    mi = sub.add_parser("model-info", help="parameters, FLOPs and shapes of a model")
    mi.add_argument("model", help="checkpoint, spec JSON or preset name (e.g. poselive-pose-t)")
    mi.add_argument("--json", action="store_true")

    b = sub.add_parser("build", help="compile a checkpoint to an ONNX Runtime or TensorRT engine")
    b.add_argument("checkpoint")
    b.add_argument("--backend", default="onnxruntime", choices=["onnxruntime", "tensorrt"])
    b.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "int8"])
    b.add_argument("--max-batch", type=int, default=32)
    b.add_argument("--calib-data", help="folder of images for INT8 calibration")
    b.add_argument("--out-dir", help="engine cache folder")
    b.add_argument("--fold-preprocess", action="store_true",
                   help="take uint8 images; normalisation inside the graph")

    t = sub.add_parser("train", help="train a model from a config file")
    t.add_argument("config")
    t.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="override config entries")

    e = sub.add_parser("eval", help="COCO keypoint AP of a pose model, or box AP of a detector")
    e.add_argument("model", help="checkpoint or ONNX file")
    e.add_argument("--ann", required=True, help="COCO keypoint (or, for a detector, instances) annotations json")
    e.add_argument("--images", required=True, help="image folder")
    e.add_argument("--task", choices=["auto", "pose", "detector"], default="auto",
                   help="what the model is (auto: from its spec or outputs)")
    e.add_argument("--det-results", help="COCO detection results json (default: ground-truth boxes)")
    e.add_argument("--det", help="whole-pipeline AP: run this detector for the person boxes instead of "
                   "using ground-truth boxes")
    e.add_argument("--det-threshold", type=float, default=0.3,
                   help="detector score threshold with --det (default 0.3, the pipeline's)")
    e.add_argument("--flip-test", action="store_true")
    e.add_argument("--json", help="write the metrics here")

    bn = sub.add_parser("bench", help="measure pipeline fps or model-only latency")
    bn.add_argument("source", nargs="?", default=None, help="video for the pipeline benchmark")
    bn.add_argument("--model-only", action="store_true")
    bn.add_argument("--model", action="append", help="model(s) for --model-only")
    bn.add_argument("--batch", type=int, nargs="*", default=[1, 8])
    bn.add_argument("--device", default="cpu",
                    help="--model-only: cpu, cuda or cuda:N (torch device; ONNX Runtime's CUDA provider)")
    bn.add_argument("--precision", nargs="+", choices=["fp32", "fp16"], default=["fp32"],
                    help="--model-only: one row set per precision (fp16: torch half, TensorRT fp16 build)")
    bn.add_argument("--cuda-graphs", nargs="+", choices=["off", "on"], default=["off"],
                    help="--model-only: torch on CUDA with and/or without CUDA graphs")
    bn.add_argument("--channels-last", action="store_true", help="--model-only: torch channels-last")
    bn.add_argument("--markdown", action="store_true", help="--model-only: print docs/benchmarks.md table rows")
    bn.add_argument("--iters", type=int, default=50)
    bn.add_argument("--max-frames", type=int, default=200)
    bn.add_argument("--json", help="write results here")
    _add_model_flags(bn)

    from poselive.labeling.cli import add_parser as add_label_parser

    add_label_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `poselive` console script."""
    args = make_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PoseliveError as exc:
        print(f"poselive: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("poselive: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
