"""Live pose estimation in the desktop GUI: `python run_live.py [--source 0|PATH|URL] [--source …]`
(also installed as the `poselive-live` command).

Defaults to camera 0 and says in the window when there is none. Several `--source` flags
show several cameras or streams as tiles of one window (one graph each, models shared).
With --headless (or when no display is available) frames are processed without a window
and statistics are printed.
"""

from __future__ import annotations

import argparse
import os
import sys

from poselive.apps import logs
from poselive.errors import NoCameraError, PoseliveError

NO_CAMERA_HINT = ("; pass another camera or a file: python run_live.py --source 1, "
                  "python run_live.py --source VIDEO (or --source sample)")


def _error(exc: PoseliveError, extra: str = "") -> int:
    """One error line (with the run_live syntax to try when there is no camera); exit 1."""
    hint = NO_CAMERA_HINT if isinstance(exc, NoCameraError) else ""
    print(f"poselive: error: {exc}{extra}{hint}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build the pipeline(s) and show them live."""
    from poselive.apps.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread starts: resident memory stays flat on long runs
    from poselive.apps.options import (LOG_FLAGS, SOURCE_HELP, add_flags, add_pipeline_flags, parser,
                                       pipeline_options)
    from poselive.apps.pipeline import build_pipeline
    from poselive.apps.summary import print_summary

    p = parser(prog="run_live.py", description="poselive live view: the desktop GUI, or --headless")
    p.add_argument("--source", action="append", metavar="SOURCE",
                   help=SOURCE_HELP + "; repeat for several (default: camera 0)")
    p.add_argument("--headless", action="store_true", help="no window; print statistics")
    add_flags(p, "max_frames", *LOG_FLAGS)
    add_flags(p, "out", out=dict(help="also record the annotated video here ({name} per source with several; "
                                      "the GUI writes the JSONL beside it) (default: none)"))
    p.add_argument("--fast", action="store_true",
                   help="GUI: process files as fast as possible instead of at their own frame rate")
    p.add_argument("--loop", action="store_true", help="GUI: start a file over at its end")
    add_pipeline_flags(p)
    a = p.parse_args(argv)
    logs.configure(logs.verbosity(a))
    sources = a.source or ["0"]
    headless = a.headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                  or os.environ.get("QT_QPA_PLATFORM"))
    if headless:
        logs.say("poselive: no display or --headless; running headless (Ctrl-C to stop)")
    if not headless:
        try:
            return _run_gui(p, a, sources)
        except PoseliveError as exc:
            return _error(exc)
    try:
        if len(sources) == 1:
            a.source = sources[0]
            opts = pipeline_options(a, out=a.out)
            pipe = build_pipeline(opts)
            stats = pipe.graph.run(max_frames=a.max_frames)
            print_summary(stats, pipe)
            return stats.exit_code()
        return _run_many(a, sources)
    except PoseliveError as exc:
        return _error(exc)


def _run_gui(p: argparse.ArgumentParser, a: argparse.Namespace, sources: list[str]) -> int:
    """The desktop window; flags given on the command line override the saved settings."""
    from poselive.apps.options import source_options
    from poselive.errors import require

    try:
        require("PyQt6.QtWidgets", "gui", "the desktop GUI")
        require("pyqtgraph", "gui", "the GUI's live plots")
    except PoseliveError as exc:
        return _error(exc, " (or run with --headless)")
    from poselive.apps.gui import run_gui

    given = {k: v for k, v in vars(a).items() if v != p.get_default(k)}
    mapping = {"det": "det", "pose": "pose", "backend": "backend", "threads": "threads",
               "det_interval": "det_interval", "det_threshold": "det_threshold",
               "kpt_threshold": "kpt_threshold"}
    overrides = {mapping[k]: given[k] for k in mapping if k in given}
    if "smooth_min_cutoff" in given:  # strength s smooths with min_cutoff 4/s Hz
        overrides["smoothing"] = min(10, max(1, round(4.0 / max(a.smooth_min_cutoff, 1e-3))))
    elif "smooth" in given or "smooth_beta" in given:
        overrides["smoothing"] = 4  # min_cutoff 1 Hz, One-Euro's default
    # Flags without a control in the side panel apply to every pipeline the window builds.
    extra = {k: given[k] for k in ("det_adapter", "pose_adapter", "adaptive_interval") if k in given}
    if "no_track" in given:
        extra["track"] = False
    if "smooth_beta" in given:
        extra["smoothing_beta"] = a.smooth_beta
    if "trails" in given:
        overrides["trails"] = a.trails > 0
    if a.fast:
        overrides["realtime"] = False
    if a.loop:
        overrides["loop"] = True
    rtsp = next((s for s in sources if str(s).startswith(("rtsp://", "rtsps://"))), None)
    options = source_options(a, rtsp) if rtsp else {}
    if a.out:
        from poselive.apps.pipeline import output_for

        output_for(a.out, "x", len(sources) > 1, "--out")  # several sources need {name}
    return run_gui(sources, overrides=overrides, record=a.out, source_options=options, max_frames=a.max_frames,
                   pipeline_extra=extra)


def _run_many(a: argparse.Namespace, sources: list[str]) -> int:
    """Several sources, headless: one pipeline each (models shared)."""
    from poselive.apps.cli import build_many, run_many
    from poselive.apps.pipeline import output_for, source_names
    from poselive.apps.summary import print_summary

    names = source_names(sources)
    output_for(a.out, "x", True, "--out")  # several sources need {name} in --out
    pipes, failed = build_many(a, sources, names, out=a.out, render=bool(a.out))
    if not pipes:
        return 1
    outcomes = run_many(pipes, show=False, max_frames=a.max_frames)
    for (_, pipe), oc in zip(pipes, outcomes):
        print_summary(oc.stats, pipe, prefix=f"[{oc.name}] ")
        if oc.error is not None:
            failed.append(oc.name)
            print(f"poselive: error: [{oc.name}] {oc.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
