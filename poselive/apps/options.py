"""The flags every poselive app shares, in one place: `process`, `bench`, `eval`,
`run_live.py` and the GUI build their parsers and their ``PipelineOptions`` from here.

One flag has one name, one meaning, one help text and one default everywhere. ``FLAGS``
is the table; ``add_flags(parser, name, ...)`` puts some of them on a parser, and
``pipeline_options(args)`` turns parsed flags into ``PipelineOptions``. This module imports
nothing heavy, so building a parser stays fast and torch-free.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from poselive import assets


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows every flag's default: ``(default: X)``, ``(default: off)`` for a
    switch; a flag whose default needs words says it in its help text instead."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or action.default is argparse.SUPPRESS:
            return text
        if action.required and action.option_strings:
            return f"{text} (required)"
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        if action.default is None:
            return text
        default = action.default
        if isinstance(default, (list, tuple)):
            default = " ".join(str(d) for d in default) or "none"
        return f"{text} (default: {default})"


def parser(prog: str | None = None, description: str | None = None, **kw: Any) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with poselive's help formatter."""
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter, **kw)


def _model_help(kind: str) -> str:
    names = [n for n, m in assets.MODELS.items() if m.kind == kind]
    names += [a for a, n in assets.ALIASES.items() if assets.MODELS[n].kind == kind]
    what = "person detector" if kind == "det" else "pose model"
    return (f"{what}: a shipped name ({', '.join(names)}) or an ONNX file, checkpoint or engine "
            f"(default: {assets.DEFAULTS[kind]})")


SOURCE_HELP = ("video file, image folder, camera index (0), rtsp:// URL, or 'sample' (the clip "
               "poselive ships)")

# name -> (option strings, add_argument keywords). One entry per flag, shared by every app.
FLAGS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    # models
    "det": (("--det",), dict(metavar="MODEL", help=_model_help("det"))),
    "pose": (("--pose",), dict(metavar="MODEL", help=_model_help("pose"))),
    "det_adapter": (("--det-adapter",), dict(
        choices=["end2end", "raw"], help="force the detector adapter (default: from the model's outputs)")),
    "pose_adapter": (("--pose-adapter",), dict(
        choices=["simcc", "heatmap", "movenet"], help="force the pose adapter (default: from the model's outputs)")),
    "backend": (("--backend",), dict(
        default="auto", choices=["auto", "onnxruntime", "torch", "tensorrt"],
        help="inference backend; auto: ONNX Runtime for .onnx, TensorRT for engines, a checkpoint built once")),
    "threads": (("--threads",), dict(
        type=int, default=None, metavar="N", help="CPU threads per model (default: half the cores)")),
    "det_threshold": (("--det-threshold",), dict(
        type=float, default=0.3, metavar="SCORE", help="person boxes scoring below this are dropped")),
    "kpt_threshold": (("--kpt-threshold",), dict(
        type=float, default=0.3, metavar="SCORE", help="keypoints scoring below this are not drawn")),
    # tracking
    "no_track": (("--no-track",), dict(action="store_true", help="no tracker: every person gets id null")),
    "det_interval": (("--det-interval",), dict(
        type=int, default=1, metavar="N",
        help="run the detector every N frames; between runs boxes come from the tracked poses")),
    "adaptive_interval": (("--adaptive-interval",), dict(
        action="store_true", help="raise the detection interval when a live source outpaces the pipeline")),
    "smooth": (("--smooth",), dict(action="store_true", help="One-Euro smoothing of keypoints per track")),
    "smooth_min_cutoff": (("--smooth-min-cutoff",), dict(
        type=float, default=None, metavar="HZ", help="One-Euro min cutoff in Hz; implies --smooth (default: 1.0)")),
    "smooth_beta": (("--smooth-beta",), dict(
        type=float, default=None, metavar="BETA",
        help="One-Euro speed coefficient; implies --smooth (default: the tracker's, 0.05)")),
    "trails": (("--trails",), dict(type=int, default=0, metavar="N", help="draw the last N positions of each track")),
    # sources
    "rtsp_transport": (("--rtsp-transport",), dict(default="tcp", choices=["tcp", "udp"], help="RTSP transport")),
    "rtsp_timeout": (("--rtsp-timeout",), dict(
        type=float, default=5.0, metavar="SECONDS", help="seconds to open an RTSP stream / wait for a frame")),
    "rtsp_reconnect": (("--rtsp-reconnect",), dict(
        type=int, default=10, metavar="TRIES",
        help="reconnection tries when a stream drops (backoff 0.5 s doubling to 8 s); 0: stop at the first "
             "drop; -1: keep trying until stopped")),
    # runs and outputs
    "realtime": (("--realtime",), dict(
        action="store_true",
        help="deliver a file at its own frame rate as a live source: newest-frame queues of 2, frames the "
             "pipeline cannot keep up with are dropped, and latency is counted from each frame's due time "
             "(live latency without a camera)")),
    "max_frames": (("--max-frames",), dict(
        type=int, default=None, metavar="N", help="stop after N frames (default: the whole source)")),
    "out": (("--out",), dict(metavar="MP4", help="write the annotated video (H.264 MP4) here (default: none)")),
    "json": (("--json",), dict(metavar="JSONL", help="write per-frame keypoints as JSON Lines here (default: none)")),
    "csv": (("--csv",), dict(metavar="CSV", help="write one row per person per frame here (default: none)")),
    "strict": (("--strict",), dict(
        action="store_true", help="image folders: stop at an unreadable image instead of skipping it")),
    "stats_json": (("--stats-json",), dict(
        metavar="JSON", help="write the run's statistics (latency, fps, drops) here (default: none)")),
    # logging
    "verbose": (("-v", "--verbose"), dict(
        action="store_true", help="also show the log lines of OpenCV, ONNX Runtime and FFmpeg, and poselive's own")),
    "quiet": (("-q", "--quiet"), dict(action="store_true", help="print errors only (no progress, no summary)")),
}

MODEL_FLAGS = ("det", "pose", "det_adapter", "pose_adapter", "backend", "threads", "det_threshold",
               "kpt_threshold")
TRACK_FLAGS = ("no_track", "det_interval", "adaptive_interval", "smooth", "smooth_min_cutoff",
               "smooth_beta", "trails")
RTSP_FLAGS = ("rtsp_transport", "rtsp_timeout", "rtsp_reconnect")
LOG_FLAGS = ("verbose", "quiet")


def add_flags(p: argparse.ArgumentParser | Any, *names: str, title: str | None = None,
              **overrides: dict[str, Any]) -> None:
    """Add the shared flags ``names`` to parser ``p`` (in an argument group with ``title``);
    ``overrides`` (flag name -> keywords) change a flag's keywords for one command."""
    target = p.add_argument_group(title) if title else p
    for name in names:
        opts, kw = FLAGS[name]
        target.add_argument(*opts, **{**kw, **overrides.get(name, {})})


def add_pipeline_flags(p: argparse.ArgumentParser) -> None:
    """Models, tracking and stream flags: everything ``pipeline_options`` reads."""
    add_flags(p, *MODEL_FLAGS, title="models")
    add_flags(p, *TRACK_FLAGS, title="tracking")
    add_flags(p, *RTSP_FLAGS, title="RTSP streams")


def parse_source(s: str | int) -> str | int:
    """A SOURCE argument: a camera index as an int, ``sample`` as the shipped clip, else as given."""
    if isinstance(s, int):
        return s
    if s.isdigit():
        return int(s)
    return assets.resolve_source(s)


@dataclass
class PipelineOptions:
    """Everything needed to assemble a pipeline; mirrors the shared flags."""

    source: str | int
    det: str | None = None
    pose: str | None = None
    det_adapter: str | None = None
    pose_adapter: str | None = None
    backend: str = "auto"
    threads: int | None = None
    det_threshold: float = 0.3
    kpt_threshold: float = 0.3
    out: str | None = None
    json: str | None = None
    csv: str | None = None
    track: bool = True
    det_interval: int = 1
    adaptive_interval: bool = False
    smoothing: dict[str, float] | None = None
    trails: int = 0
    policy: str | None = None
    render: bool = False
    queue_size: int = 4
    realtime: bool = False
    loop: bool = False
    source_options: dict[str, Any] = field(default_factory=dict)
    on_result: Callable | None = None


def source_options(a: argparse.Namespace, source: str | int | None = None) -> dict:
    """Options for the kind of source ``source`` (default ``a.source``) is: RTSP transport,
    timeout and reconnection; ``strict`` for an image folder."""
    src = a.source if source is None else source
    if str(src).startswith(("rtsp://", "rtsps://")):
        tries = a.rtsp_reconnect
        return {"transport": a.rtsp_transport, "timeout": a.rtsp_timeout,
                "reconnect": None if tries < 0 else tries}
    if getattr(a, "strict", False) and os.path.isdir(str(src)):
        return {"strict": True}
    return {}


def pipeline_options(a: argparse.Namespace, **extra: Any) -> PipelineOptions:
    """``PipelineOptions`` from parsed shared flags (``add_pipeline_flags``); ``extra``
    sets the rest (outputs, rendering, callbacks)."""
    smoothing = None
    if a.smooth or a.smooth_min_cutoff is not None or a.smooth_beta is not None:
        smoothing = {}
        if a.smooth_min_cutoff is not None:
            smoothing["min_cutoff"] = a.smooth_min_cutoff
        if a.smooth_beta is not None:
            smoothing["beta"] = a.smooth_beta
    extra.setdefault("source_options", source_options(a))
    if getattr(a, "realtime", False):
        # A paced file is a live source: keep the newest frames, in short queues.
        extra.setdefault("realtime", True)
        extra.setdefault("queue_size", 2)
    return PipelineOptions(
        source=parse_source(a.source), det=a.det, pose=a.pose, det_adapter=a.det_adapter,
        pose_adapter=a.pose_adapter, backend=a.backend, threads=a.threads,
        det_threshold=a.det_threshold, kpt_threshold=a.kpt_threshold, track=not a.no_track,
        det_interval=max(1, a.det_interval), adaptive_interval=a.adaptive_interval,
        smoothing=smoothing, trails=a.trails, **extra)


__all__ = ["FLAGS", "HelpFormatter", "PipelineOptions", "add_flags", "add_pipeline_flags", "parser",
           "parse_source", "pipeline_options", "source_options", "SOURCE_HELP", "MODEL_FLAGS",
           "TRACK_FLAGS", "RTSP_FLAGS", "LOG_FLAGS"]
