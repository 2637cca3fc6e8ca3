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

from poselive.errors import PoseliveError


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build the pipeline(s) and show them live."""
    from poselive.apps.cli import _add_model_flags, _add_rtsp_flags, _pipeline_options, _source_options
    from poselive.apps.pipeline import build_pipeline

    p = argparse.ArgumentParser(prog="run_live.py", description="poselive live view")
    p.add_argument("--source", action="append",
                   help="camera index, video file or rtsp:// URL (default 0); repeat for several")
    p.add_argument("--headless", action="store_true", help="no window; print statistics")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--out", help="also record the annotated video here ({name} per source with several; "
                   "the GUI writes the JSONL beside it)")
    p.add_argument("--fast", action="store_true",
                   help="GUI: process files as fast as possible instead of at their own frame rate")
    p.add_argument("--loop", action="store_true", help="GUI: start a file over at its end")
    _add_model_flags(p)
    _add_rtsp_flags(p)
    a = p.parse_args(argv)
    sources = a.source or ["0"]
    headless = a.headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                  or os.environ.get("QT_QPA_PLATFORM"))
    if headless:
        print("poselive: no display or --headless; running headless (Ctrl-C to stop)", file=sys.stderr)
    if not headless:
        try:
            return _run_gui(p, a, sources)
        except PoseliveError as exc:
            print(f"poselive: error: {exc}", file=sys.stderr)
            return 1
    try:
        if len(sources) == 1:
            a.source = sources[0]
            opts = _pipeline_options(a, out=a.out, source_options=_source_options(a))
            pipe = build_pipeline(opts)
            stats = pipe.graph.run(max_frames=a.max_frames)
            print(stats.summary(), file=sys.stderr)
            return 0
        return _run_many(a, sources)
    except PoseliveError as exc:
        print(f"poselive: error: {exc}", file=sys.stderr)
        return 1


def _run_gui(p: argparse.ArgumentParser, a: argparse.Namespace, sources: list[str]) -> int:
    """The desktop window; flags given on the command line override the saved settings."""
    from poselive.apps.cli import _source_options
    from poselive.errors import require

    try:
        require("PyQt6.QtWidgets", "gui", "the desktop GUI")
        require("pyqtgraph", "gui", "the GUI's live plots")
    except PoseliveError as exc:
        print(f"poselive: error: {exc} (or run with --headless)", file=sys.stderr)
        return 1
    from poselive.apps.gui import run_gui

    given = {k: v for k, v in vars(a).items() if v != p.get_default(k)}
    mapping = {"det": "det", "pose": "pose", "backend": "backend", "threads": "threads",
               "det_interval": "det_interval", "det_threshold": "det_threshold",
               "kpt_threshold": "kpt_threshold"}
    overrides = {mapping[k]: given[k] for k in mapping if k in given}
    if "smooth" in given or "smooth_min_cutoff" in given:
        overrides["smoothing"] = 5
    if "trails" in given:
        overrides["trails"] = a.trails > 0
    if a.fast:
        overrides["realtime"] = False
    if a.loop:
        overrides["loop"] = True
    rtsp = next((s for s in sources if str(s).startswith(("rtsp://", "rtsps://"))), None)
    options = _source_options(argparse.Namespace(**{**vars(a), "source": rtsp})) if rtsp else {}
    if a.out:
        from poselive.apps.pipeline import output_for

        output_for(a.out, "x", len(sources) > 1, "--out")  # several sources need {name}
    return run_gui(sources, overrides=overrides, record=a.out, source_options=options, max_frames=a.max_frames)


def _run_many(a: argparse.Namespace, sources: list[str]) -> int:
    """Several sources, headless: one pipeline each (models shared)."""
    from poselive.apps.cli import build_many, run_many
    from poselive.apps.pipeline import output_for, source_names

    names = source_names(sources)
    output_for(a.out, "x", True, "--out")  # several sources need {name} in --out
    pipes, failed = build_many(a, sources, names, out=a.out, render=bool(a.out))
    if not pipes:
        return 1
    outcomes = run_many(pipes, show=False, max_frames=a.max_frames)
    for oc in outcomes:
        print(f"[{oc.name}] {oc.stats.summary()}", file=sys.stderr)
        if oc.error is not None:
            failed.append(oc.name)
            print(f"poselive: error: [{oc.name}] {oc.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
