"""Detection every N frames against detection on every frame, through the real CLI.

    python3 benchmarks/det_interval.py [--video vtest.avi] [--frames 300] [--intervals 1 5]
                                       [--rounds 3] [--render] [--json out.json]

Each round runs ``poselive process VIDEO --det-interval N --json ...`` once per interval, in
turn (interleaved, so that a change in the machine's load hits every interval alike), each
in a fresh process. Reported per interval: the median throughput over the rounds, persons
per frame (the same in every round: the output is deterministic on a file), the median
stage p50s, and the throughput and persons ratios against the first interval; with the
1-minute load average before and after every run. Prints a Markdown table for
docs/tracking.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _default_video() -> str:
    shared = Path(os.environ.get("POSELIVE_SHARED", REPO.parent / "shared"))
    return str(shared / "data" / "videos" / "vtest.avi")


def run_once(video: str, n: int, frames: int, render: bool, tmp: Path, extra: list[str]) -> dict:
    """One `poselive process` run; returns fps, persons, stage p50s, JSONL digest, load."""
    js, st = tmp / f"n{n}.jsonl", tmp / f"n{n}.json"
    cmd = [sys.executable, "-m", "poselive", "process", video, "--max-frames", str(frames),
           "--det-interval", str(n), "--json", str(js), "--stats-json", str(st), "--quiet", *extra]
    if render:
        cmd += ["--out", str(tmp / f"n{n}.mp4")]
    load0 = os.getloadavg()[0]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    load1 = os.getloadavg()[0]
    if r.returncode != 0:
        raise SystemExit(f"det_interval: error: {' '.join(cmd)} failed:\n{r.stderr}")
    stats = json.loads(st.read_text())
    lines = js.read_bytes().splitlines()[1:]
    persons = sum(len(json.loads(line)["persons"]) for line in lines)
    return {"interval": n, "fps": stats["fps"], "frames": stats["frames_out"], "persons": persons,
            "persons_per_frame": persons / max(1, len(lines)),
            "stage_p50_ms": {k: v["p50_ms"] for k, v in stats["stages"].items()},
            "stage_util": {k: v["utilisation"] for k, v in stats["stages"].items()},
            "jsonl_sha1": hashlib.sha1(js.read_bytes()).hexdigest(), "load_before": load0, "load_after": load1}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", default=_default_video())
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--intervals", type=int, nargs="+", default=[1, 5])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--render", action="store_true", help="also draw and encode an MP4 (--out)")
    p.add_argument("--json", metavar="OUT", help="write every run and the summary here")
    p.add_argument("extra", nargs="*", help="more `poselive process` flags, after --")
    a = p.parse_args(argv)
    if not Path(a.video).is_file():
        print(f"det_interval: error: {a.video} not found (set POSELIVE_SHARED)", file=sys.stderr)
        return 1
    runs: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        for rnd in range(a.rounds):
            for n in a.intervals:
                r = run_once(a.video, n, a.frames, a.render, Path(d), a.extra)
                r["round"] = rnd
                runs.append(r)
                print(f"round {rnd} N={n}: {r['fps']:.2f} fps, {r['persons_per_frame']:.3f} persons/frame, "
                      f"load {r['load_before']:.1f} -> {r['load_after']:.1f}", file=sys.stderr, flush=True)
    base = a.intervals[0]
    summary = []
    for n in a.intervals:
        rs = [r for r in runs if r["interval"] == n]
        fps = statistics.median(r["fps"] for r in rs)
        stages = sorted({k for r in rs for k in r["stage_p50_ms"]}, key=list(rs[0]["stage_p50_ms"]).index)
        summary.append({"interval": n, "fps_median": fps, "fps_runs": [r["fps"] for r in rs],
                        "persons_per_frame": rs[0]["persons_per_frame"],
                        "deterministic": len({r["jsonl_sha1"] for r in rs}) == 1,
                        "stage_p50_ms": {k: statistics.median(r["stage_p50_ms"][k] or 0.0 for r in rs)
                                         for k in stages}})
    b = next(s for s in summary if s["interval"] == base)
    for s in summary:
        s["fps_ratio"] = s["fps_median"] / b["fps_median"]
        s["persons_ratio"] = s["persons_per_frame"] / b["persons_per_frame"]
    ratios = [r["fps"] / b_r["fps"] for r in runs for b_r in runs
              if r["round"] == b_r["round"] and b_r["interval"] == base and r["interval"] != base]
    loads = [r["load_before"] for r in runs] + [r["load_after"] for r in runs]
    result = {"video": a.video, "frames": a.frames, "rounds": a.rounds, "render": a.render,
              "cpu_count": os.cpu_count(), "load_min": min(loads), "load_max": max(loads),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "summary": summary,
              "per_round_ratios": ratios, "runs": runs}
    print(f"{a.frames} frames of {Path(a.video).name}, {a.rounds} interleaved rounds, "
          f"load average (1 min) {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores, {result['date']}")
    print("| N | fps (median) | fps per round | throughput vs N=1 | persons/frame | persons vs N=1 | "
          "deterministic | stage p50 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for s in summary:
        st = ", ".join(f"{k} {v:.1f}" for k, v in s["stage_p50_ms"].items())
        print(f"| {s['interval']} | {s['fps_median']:.2f} | {' / '.join(f'{x:.2f}' for x in s['fps_runs'])} | "
              f"{s['fps_ratio']:.2f}x | {s['persons_per_frame']:.3f} | {100 * (s['persons_ratio'] - 1):+.1f} % | "
              f"{'yes' if s['deterministic'] else 'NO'} | {st} |")
    if ratios:
        print(f"per-round throughput ratios: {', '.join(f'{x:.2f}' for x in ratios)}")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
