#!/usr/bin/env python3
"""Live pose estimation in a window: `python run_live.py [--source 0|PATH|URL] [--source …]`.

Defaults to camera 0 and says clearly when there is none. Several `--source` flags show
several cameras or streams as tiles of one window (one graph each, models shared). With
--headless (or when no display is available) frames are processed without a window and
statistics are printed.
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

    p = argparse.ArgumentParser(description="poselive live view")
    p.add_argument("--source", action="append",
                   help="camera index, video file or rtsp:// URL (default 0); repeat for several")
    p.add_argument("--headless", action="store_true", help="no window; print statistics")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--out", help="also record the annotated video here ({name} per source with several)")
    _add_model_flags(p)
    _add_rtsp_flags(p)
    a = p.parse_args(argv)
    sources = a.source or ["0"]
    headless = a.headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                  or os.environ.get("QT_QPA_PLATFORM"))
    if headless:
        print("poselive: no display or --headless; running headless (Ctrl-C to stop)", file=sys.stderr)
    try:
        if len(sources) == 1:
            a.source = sources[0]
            opts = _pipeline_options(a, out=a.out, render=not headless, source_options=_source_options(a))
            pipe = build_pipeline(opts)
            if headless:
                stats = pipe.graph.run(max_frames=a.max_frames)
            else:
                from poselive.apps.viewer import run_viewer

                stats = run_viewer(pipe.graph, max_frames=a.max_frames, title=f"poselive — {a.source}")
            print(stats.summary(), file=sys.stderr)
            return 0
        return _run_many(a, sources, headless)
    except PoseliveError as exc:
        print(f"poselive: error: {exc}", file=sys.stderr)
        return 1


def _run_many(a: argparse.Namespace, sources: list[str], headless: bool) -> int:
    """Several sources: one pipeline each (models shared), tiles of one window or headless."""
    from poselive.apps.cli import build_many, run_many
    from poselive.apps.pipeline import output_for, source_names

    names = source_names(sources)
    output_for(a.out, "x", True, "--out")  # several sources need {name} in --out
    pipes, failed = build_many(a, sources, names, out=a.out, render=not headless or bool(a.out))
    if not pipes:
        return 1
    outcomes = run_many(pipes, show=not headless, max_frames=a.max_frames)
    for oc in outcomes:
        print(f"[{oc.name}] {oc.stats.summary()}", file=sys.stderr)
        if oc.error is not None:
            failed.append(oc.name)
            print(f"poselive: error: [{oc.name}] {oc.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
