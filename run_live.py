#!/usr/bin/env python3
"""Live pose estimation in a window: `python run_live.py [--source 0|PATH|URL]`.

Defaults to camera 0 and says clearly when there is none. With --headless (or when no
display is available) frames are processed without a window and statistics are printed.
"""

from __future__ import annotations

import argparse
import os
import sys

from poselive.errors import PoseliveError


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build the pipeline and show it live."""
    from poselive.apps.cli import _add_model_flags, _add_rtsp_flags, _pipeline_options, _source_options
    from poselive.apps.pipeline import build_pipeline

    p = argparse.ArgumentParser(description="poselive live view")
    p.add_argument("--source", default="0", help="camera index, video file or rtsp:// URL (default 0)")
    p.add_argument("--headless", action="store_true", help="no window; print statistics")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--out", help="also record the annotated video here")
    _add_model_flags(p)
    _add_rtsp_flags(p)
    a = p.parse_args(argv)
    headless = a.headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                  or os.environ.get("QT_QPA_PLATFORM"))
    try:
        opts = _pipeline_options(a, out=a.out, render=not headless, source_options=_source_options(a))
        pipe = build_pipeline(opts)
        if headless:
            print("poselive: no display; running headless (Ctrl-C to stop)", file=sys.stderr)
            stats = pipe.graph.run(max_frames=a.max_frames)
        else:
            from poselive.apps.viewer import run_viewer

            stats = run_viewer(pipe.graph, max_frames=a.max_frames, title=f"poselive — {a.source}")
        print(stats.summary(), file=sys.stderr)
    except PoseliveError as exc:
        print(f"poselive: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
