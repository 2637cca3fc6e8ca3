"""The `poselive` command line: process, model-info, build, import, train, eval, bench, label."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Callable

from poselive import interrupts
from poselive.apps import logs
from poselive.apps.logs import say
from poselive.apps.options import (LOG_FLAGS, SOURCE_HELP, HelpFormatter, add_flags, add_pipeline_flags,
                                   pipeline_options)
from poselive.errors import NoCameraError, PoseliveError, StageError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register a sub-command handler under ``name``."""
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


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
    from poselive.apps.options import parse_source
    from poselive.sinks.paths import check_output_paths

    # Before anything opens: no output may overwrite the source or another output.
    check_output_paths({"--out": a.out, "--json": a.json, "--csv": a.csv, "--stats-json": a.stats_json},
                       sources=[parse_source(a.source)])
    progress = Progress(enabled=not a.quiet)
    opts = pipeline_options(a, out=a.out, json=a.json, csv=a.csv, on_result=progress.update,
                            render=bool(a.out or a.show))
    pipe = build_pipeline(opts)
    try:
        interrupts.check()  # a signal that a library swallowed while the models loaded
        total = pipe.source.info.get("frames")
        if a.max_frames:
            total = min(total, a.max_frames) if total else a.max_frames
        progress.start(total=total, live=pipe.source.is_live)
    except BaseException:
        pipe.discard()  # nothing ran: no partial files left behind
        raise
    error = None
    try:
        if a.show:
            from poselive.apps.viewer import run_viewer

            stats = run_viewer(pipe.graph, max_frames=a.max_frames, title=f"poselive — {a.source}")
        else:
            stats = pipe.graph.run(max_frames=a.max_frames)
    except StageError as exc:  # the outputs are finalised; say what they hold, then the error
        error, stats = exc, pipe.graph.stats()
    except BaseException:
        if not pipe.graph.started:
            pipe.discard()  # interrupted before the graph started
        raise
    progress.close()
    say(f"{progress.frames} frames, {progress.persons} persons")
    _print_summary(stats, pipe)
    if a.stats_json:
        with open(a.stats_json, "w") as f:
            json.dump(stats.to_dict(), f, indent=2)
    if error is not None:
        print(f"poselive: error: {error}", file=sys.stderr)
        return 1
    return stats.exit_code()


def build_many(a: argparse.Namespace, sources: list, names: list[str], out: str | None = None,
               json_path: str | None = None, csv_path: str | None = None,
               render: bool = False) -> tuple[list, list]:
    """One pipeline per source, all sharing one opened detector and pose model.

    Output templates get each source's name for ``{name}``. Returns ``[(name, pipeline)]``
    and the names of sources that could not be opened (reported on stderr)."""
    from poselive.apps.pipeline import build_pipeline, open_models, output_for

    base = pipeline_options(argparse.Namespace(**{**vars(a), "source": str(sources[0])}))
    models = open_models(base, shared=True)
    pipes, failed = [], []
    for src, name in zip(sources, names):
        sa = argparse.Namespace(**{**vars(a), "source": str(src)})
        try:
            opts = pipeline_options(sa, out=output_for(out, name, True, "--out"),
                                    json=output_for(json_path, name, True, "--json"),
                                    csv=output_for(csv_path, name, True, "--csv"), render=render)
            pipes.append((name, build_pipeline(opts, models)))
            say(f"[{name}] {src}")
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
    from poselive.apps.options import parse_source
    from poselive.sinks.paths import check_output_paths

    check_output_paths([(f"[{name}] {flag}", output_for(t, name, True, flag))
                        for name in names for flag, t in outs.items()],
                       sources=[parse_source(s) for s in sources])
    pipes, failed = build_many(a, sources, names, out=a.out, json_path=a.json, csv_path=a.csv,
                               render=bool(a.out or a.show))
    if not pipes:
        return 1
    try:
        interrupts.check()
    except BaseException:
        for _, pipe in pipes:
            pipe.discard()
        raise
    outcomes = run_many(pipes, show=a.show, max_frames=a.max_frames)
    code = 0
    for (name, pipe), oc in zip(pipes, outcomes):
        _print_summary(oc.stats, pipe, prefix=f"[{name}] ")
        if oc.error is not None:
            failed.append(name)
            print(f"poselive: error: [{name}] {oc.error}", file=sys.stderr)
        if outs["--stats-json"]:
            with open(output_for(outs["--stats-json"], name, True, "--stats-json"), "w") as f:
                json.dump(oc.stats.to_dict(), f, indent=2)
        code = code or oc.stats.exit_code()
    if failed:
        print(f"poselive: {len(failed)} of {len(sources)} sources failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return code


def _print_summary(stats, pipe, prefix: str = "") -> None:
    """The end-of-run summary (head line, models, stage table) and the files written."""
    from poselive.apps.summary import print_summary

    print_summary(stats, pipe, prefix)


@command("model-info")
def cmd_model_info(a: argparse.Namespace) -> int:
    """Describe a shipped model, a checkpoint, an ONNX file or a built engine."""
    from poselive.apps.model_info import describe, format_info, format_table, shipped_table

    if a.model is None:
        rows = shipped_table()
        print(json.dumps(rows, indent=2) if a.json else format_table(rows))
        return 0
    info = describe(a.model)
    print(json.dumps(info, indent=2, default=str) if a.json else format_info(info))
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


@command("import")
def cmd_import(a: argparse.Namespace) -> int:
    """Convert an external pretrained model into a self-describing poselive checkpoint."""
    from poselive.models.importers import import_file

    out = import_file(a.source, a.out, name=a.name, license=a.license, half=a.half)
    from poselive.models import read_checkpoint

    spec = read_checkpoint(out)["spec"]
    prov = spec.get("provenance", {})
    print(f"wrote {out}: {spec.get('name')} ({prov.get('importer')} importer) from {prov.get('imported_from')} "
          f"sha256 {prov.get('source_sha256', '')[:12]}..., license: {prov.get('license', 'unknown')}")
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

    from poselive import assets

    a.model = str(assets.resolve_model(a.model, "pose", "MODEL"))
    if a.det:
        a.det = str(assets.resolve_model(a.det, "det"))
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


@command("report")
def cmd_report(a: argparse.Namespace) -> int:
    """PNG plots of a JSONL written by `poselive process --json`."""
    from poselive.apps.report import write_report

    for path in write_report(a.jsonl, a.out):
        say(f"wrote {path}")
    return 0


@command("label")
def cmd_label(a: argparse.Namespace) -> int:
    """Pseudo-label images and videos with teacher models (COCO keypoint json)."""
    from poselive.labeling.cli import run as run_label

    return run_label(a)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of the `poselive` command."""
    from poselive.apps.versions import VersionAction

    p = argparse.ArgumentParser(prog="poselive", description="Real-time human pose estimation.",
                                formatter_class=HelpFormatter,
                                epilog="exit codes: 0 done, 1 error, 2 usage error, 130 interrupted (Ctrl-C), "
                                       "143 terminated (SIGTERM)")
    p.add_argument("--version", action=VersionAction,
                   help="print poselive's version and those of ONNX Runtime, PyAV, OpenCV and torch")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def subparser(name: str, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
        add_flags(sp, *LOG_FLAGS)
        return sp

    pp = subparser("process", "annotate a video file, folder, camera or RTSP stream")
    pp.add_argument("source", nargs="+",
                    help=SOURCE_HELP + "; several run side by side (one graph each, models shared) and "
                    "need {name} in output paths")
    add_flags(pp, "out", "json", "csv", "stats_json", "max_frames", "realtime", title="outputs")
    add_flags(pp, "strict")
    pp.add_argument("--show", action="store_true", help="show the annotated frames in a window")
    add_pipeline_flags(pp)

    mi = subparser("model-info", "describe a model: shipped name or alias, .pt checkpoint, .onnx file, "
                   "built engine, spec JSON or preset")
    mi.add_argument("model", nargs="?", default=None,
                    help="a shipped name or alias (fast, accurate, poselive-det-nano), a .pt, .onnx or engine "
                         "file, a spec JSON or a preset name (default: list the shipped models)")
    mi.add_argument("--json", action="store_true", help="print JSON instead of text")

    b = subparser("build", "compile a checkpoint to an ONNX Runtime or TensorRT engine")
    b.add_argument("checkpoint", help="a .pt checkpoint")
    b.add_argument("--backend", default="onnxruntime", choices=["onnxruntime", "tensorrt"],
                   help="the engine to build")
    b.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "int8"], help="engine precision")
    b.add_argument("--max-batch", type=int, default=32, metavar="N", help="largest batch the engine takes")
    b.add_argument("--calib-data", metavar="DIR", help="folder of images for INT8 calibration (default: none)")
    b.add_argument("--out-dir", metavar="DIR",
                   help="engine cache folder (default: $POSELIVE_CACHE or ~/.cache/poselive/engines)")
    b.add_argument("--fold-preprocess", action="store_true",
                   help="take uint8 images; normalisation inside the graph")

    im = subparser("import", "convert a pretrained external model (MoveNet, RTMDet ONNX) to a checkpoint")
    im.add_argument("source", help="the external model file (ONNX)")
    im.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    im.add_argument("--name", help="model name stored in the spec (default: the importer's, e.g. movenet-lightning)")
    im.add_argument("--license", help="license text stored in the provenance (default: the importer's)")
    im.add_argument("--half", action="store_true",
                    help="store weights as float16 (loading casts back to float32; lossless for MoveNet)")

    t = subparser("train", "train a model from a config file")
    t.add_argument("config", help="a training config (YAML)")
    t.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="override config entries (default: none)")

    e = subparser("eval", "COCO keypoint AP of a pose model, or box AP of a detector")
    e.add_argument("model", help="checkpoint, ONNX file or shipped name")
    e.add_argument("--ann", required=True, help="COCO keypoint (or, for a detector, instances) annotations json")
    e.add_argument("--images", required=True, help="image folder")
    e.add_argument("--task", choices=["auto", "pose", "detector"], default="auto",
                   help="what the model is (auto: from its spec or outputs)")
    e.add_argument("--det-results", metavar="JSON",
                   help="COCO detection results json (default: ground-truth boxes)")
    add_flags(e, "det", "det_threshold", det=dict(
        help="whole-pipeline AP: this person detector's boxes instead of ground-truth boxes; a shipped "
             "name or a file (default: ground-truth boxes)"))
    e.add_argument("--flip-test", action="store_true", help="average with the horizontally flipped crop")
    e.add_argument("--json", metavar="JSON", help="write the metrics here (default: print only)")

    bn = subparser("bench", "measure pipeline fps or model-only latency")
    bn.add_argument("source", nargs="?", default="sample",
                    help="the pipeline benchmark's source: " + SOURCE_HELP)
    bn.add_argument("--model-only", action="store_true", help="time the models alone, batch by batch")
    bn.add_argument("--model", action="append", metavar="MODEL",
                    help="--model-only: a model to time, repeatable (default: the shipped detector and pose model)")
    bn.add_argument("--batch", type=int, nargs="*", default=[1, 8], metavar="N",
                    help="--model-only: batch sizes to time")
    bn.add_argument("--device", default="cpu",
                    help="--model-only: cpu, cuda or cuda:N (torch device; ONNX Runtime's CUDA provider)")
    bn.add_argument("--precision", nargs="+", choices=["fp32", "fp16"], default=["fp32"],
                    help="--model-only: one row set per precision (fp16: torch half, TensorRT fp16 build)")
    bn.add_argument("--cuda-graphs", nargs="+", choices=["off", "on"], default=["off"],
                    help="--model-only: torch on CUDA with and/or without CUDA graphs")
    bn.add_argument("--channels-last", action="store_true", help="--model-only: torch channels-last")
    bn.add_argument("--markdown", action="store_true", help="--model-only: print docs/benchmarks.md table rows")
    bn.add_argument("--iters", type=int, default=50, metavar="N", help="--model-only: timed calls per batch size")
    bn.add_argument("--frames", "--max-frames", dest="max_frames", type=int, default=200, metavar="N",
                    help="pipeline benchmark: frames to measure")
    bn.add_argument("--warmup", type=int, default=20, metavar="N",
                    help="pipeline benchmark: frames run first with the same models, not measured")
    bn.add_argument("--rounds", type=int, default=None, metavar="N",
                    help="runs of each configuration, interleaved; the report shows medians "
                         "(default: 3 with --compare, else 1)")
    bn.add_argument("--compare", nargs="+", metavar="CONFIG",
                    help="run several configurations side by side, each a quoted set of pipeline flags on top "
                         "of the command line's, e.g. --compare '--det-interval 1' '--det-interval 5' "
                         "(default: the command line's configuration alone)")
    bn.add_argument("--no-render", action="store_true",
                    help="pipeline benchmark: leave out drawing and H.264 encoding of the annotated video")
    add_flags(bn, "realtime")
    bn.add_argument("--loop", action="store_true",
                    help="with --realtime: start the file over at its end, for runs longer than the file "
                         "(the report then compares the first and the last minute's latency)")
    bn.add_argument("--json", metavar="JSON", help="write the results here, the same fields as printed "
                                                   "(default: print only)")
    add_pipeline_flags(bn)

    rp = subparser("report", "PNG plots of a poses JSONL: persons per frame, track timelines, "
                   "keypoint confidence over time")
    rp.add_argument("jsonl", help="a JSONL written by poselive process --json")
    rp.add_argument("--out", default="out/report", metavar="DIR", help="folder for the PNG files")

    from poselive.labeling.cli import add_parser as add_label_parser

    lp = add_label_parser(sub)
    if isinstance(lp, argparse.ArgumentParser):
        lp.formatter_class = HelpFormatter
    return p


# What to type instead, in the syntax of the command that was run.
HINTS: dict[tuple[type, str], str] = {
    (NoCameraError, "process"): "pass another camera or a file: poselive process 1, poselive process VIDEO "
                                "(or: poselive process sample --json out/poses.jsonl)",
    (NoCameraError, "bench"): "pass a file: poselive bench VIDEO (or just: poselive bench)",
}


def usage_hint(exc: BaseException, command: str) -> str:
    """``; <the exact syntax to try>`` for errors whose fix depends on the command, else ''."""
    for (kind, cmd), hint in HINTS.items():
        if isinstance(exc, kind) and cmd == command:
            return f"; {hint}"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `poselive` console script."""
    previous = interrupts.install()  # first: Ctrl-C / SIGTERM work from the first instant
    try:
        return _main(argv)
    finally:
        interrupts.restore(previous)  # main() may run in-process (tests, other apps)


def _main(argv: list[str] | None) -> int:
    from poselive.apps.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread starts: resident memory stays flat on long runs
    command = None
    try:
        args = make_parser().parse_args(argv)
        command = args.command
        logs.configure(logs.verbosity(args))
        return COMMANDS[args.command](args)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - every interrupt ends here, whatever it became
        code = interrupts.exit_code(exc)  # 130 / 143 with one line, even if it surfaced as ImportError
        if code is not None:
            return code
        if isinstance(exc, PoseliveError):
            print(f"poselive: error: {exc}{usage_hint(exc, command or '')}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
