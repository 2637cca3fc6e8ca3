"""Soak test: the live pipeline on a looping video for a given time.

Records, every ``--interval`` seconds, the process's resident memory (RSS), end-to-end
latency of the frames finished in that interval (p50/p95/max), frames and drops, Python and
OS thread counts and the load average; at the end a summary: memory growth after the
warm-up, latency in the first vs the last minute, thread counts, and whether every graph
thread ended. The source replays the file in real time at its frame rate as a *live*
source (``latest`` edges: a slow pipeline drops frames instead of building a backlog).

Usage (from the repo root):

    python benchmarks/soak.py --seconds 1800 --out /work/runs/rel/soak --json
    python benchmarks/soak.py --seconds 5 --interval 0.5 --out /tmp/soak    # the CI version

``--out DIR`` receives ``samples.jsonl`` (one line per sample) and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from poselive.errors import StageError  # noqa: E402
from poselive.graph import Graph  # noqa: E402
from poselive.sources import VideoFileSource  # noqa: E402
from poselive.sources.base import Source  # noqa: E402
from poselive.types import FramePacket  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


class LoopingSource(Source):
    """A video file replayed for ever in real time, as a live source (a camera stand-in)."""

    is_live = True

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        self.path = str(path)
        probe = VideoFileSource(self.path)
        self.fps = float(fps or probe.fps or 25.0)
        self.size = probe.size
        probe.close()
        self.name = "loop"
        self.loops = 0
        self.info = {"kind": "loop", "path": self.path, "fps": self.fps, "size": self.size,
                     "frames": None, "time_base": None, "has_audio": False}
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[FramePacket]:
        t0 = time.perf_counter()
        n = 0
        while not self._stop.is_set():
            src = VideoFileSource(self.path)
            try:
                for p in src:
                    wait = t0 + n / self.fps - time.perf_counter()
                    if wait > 0 and self._stop.wait(wait):
                        return
                    if self._stop.is_set():
                        return
                    yield FramePacket(index=n, pts=n / self.fps, image=p.image, capture_time=time.perf_counter())
                    n += 1
            finally:
                src.close()
            self.loops += 1

    def close(self) -> None:
        self._stop.set()


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def os_threads() -> int:
    """Threads of this process as the OS counts them (Python's and native ones)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def build(video: str, json_path: str | None, threads: int | None) -> tuple[Graph, LoopingSource, list]:
    """The real pipeline (shipped models, tracker, renderer, optional JSONL) on a looping source."""
    from poselive.apps.pipeline import PipelineOptions, build_pipeline

    opts = PipelineOptions(source=video, json=json_path, render=True, threads=threads)
    pipe = build_pipeline(opts)
    pipe.source.close()
    source = LoopingSource(video)
    latencies: list = []

    def on_result(packet: FramePacket) -> None:
        latencies.append(time.perf_counter() - packet.capture_time)

    graph = Graph(source, pipe.graph.stages, queue_size=2, on_result=on_result)
    return graph, source, latencies


def _slope(rows: list[dict], key: str, per_s: float) -> float | None:
    """Least-squares slope of ``key`` over time, per ``per_s`` seconds."""
    if len(rows) < 3:
        return None
    t = np.array([r["t"] for r in rows], float)
    y = np.array([r[key] for r in rows], float)
    return round(float(np.polyfit(t, y, 1)[0] * per_s), 2)


def summarise(samples: list[dict], warmup_s: float, threads_before: int, threads_after: int,
              graph_threads_left: list[str]) -> dict:
    """Memory growth after warm-up, latency first vs last minute, threads, load."""
    after = [s for s in samples if s["t"] >= warmup_s] or samples
    rss0, rss1 = after[0]["rss_mb"], after[-1]["rss_mb"]
    span = after[-1]["t"] - after[0]["t"]
    minute = min(60.0, max(span / 3, 1e-9))
    first = [s for s in after if s["t"] <= after[0]["t"] + minute and s["lat_p50_ms"] is not None]
    last = [s for s in after if s["t"] >= after[-1]["t"] - minute and s["lat_p50_ms"] is not None]

    def med(rows: list[dict], key: str) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return round(float(np.median(vals)), 1) if vals else None

    return {
        "duration_s": round(samples[-1]["t"], 1) if samples else 0.0,
        "warmup_s": warmup_s,
        "frames": samples[-1]["frames"] if samples else 0,
        "drops": samples[-1]["drops"] if samples else 0,
        "rss_after_warmup_mb": round(rss0, 1),
        "rss_end_mb": round(rss1, 1),
        "rss_max_mb": round(max(s["rss_mb"] for s in after), 1),
        "rss_growth_pct": round(100.0 * (rss1 - rss0) / rss0, 2),
        # a leak shows as a steady slope; allocator warm-up as a step that flattens out
        "rss_slope_mb_per_10min": _slope(after, "rss_mb", 600.0),
        "rss_after_warmup_range_mb": [round(min(s["rss_mb"] for s in after), 1),
                                      round(max(s["rss_mb"] for s in after), 1)],
        "latency_p50_first_min_ms": med(first, "lat_p50_ms"),
        "latency_p50_last_min_ms": med(last, "lat_p50_ms"),
        "latency_p95_first_min_ms": med(first, "lat_p95_ms"),
        "latency_p95_last_min_ms": med(last, "lat_p95_ms"),
        "fps_first_min": med(first, "fps"),
        "fps_last_min": med(last, "fps"),
        "threads_min": min(s["threads"] for s in samples),
        "threads_max": max(s["threads"] for s in samples),
        "threads_before": threads_before,
        "threads_after": threads_after,
        "graph_threads_left": graph_threads_left,
        "loadavg_mean_1min": round(float(np.mean([s["load1"] for s in samples])), 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--video", default=None, help="the looping video (default: the shipped sample clip)")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--warmup", type=float, default=None, help="seconds ignored for memory growth "
                   "(default: 5 minutes, or a fifth of a short run)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model")
    p.add_argument("--json", action="store_true", help="also write the results as JSONL (in --out)")
    p.add_argument("--no-arena-limit", action="store_true",
                   help="keep glibc's default malloc arenas (the apps cap them at 2)")
    p.add_argument("--out", required=True, help="folder for samples.jsonl and summary.json")
    a = p.parse_args(argv)
    if a.video is None:
        from poselive import assets

        a.video = str(assets.sample_path())
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    warmup = a.warmup if a.warmup is not None else min(300.0, a.seconds / 5)

    if not a.no_arena_limit:
        from poselive.apps.memory import limit_malloc_arenas

        limit_malloc_arenas()  # as the CLI and run_live.py do
    threads_before = os_threads()
    graph, source, latencies = build(a.video, str(out / "soak.jsonl") if a.json else None, a.threads)
    samples: list[dict] = []
    graph.start()
    t0 = time.perf_counter()
    last_frames, last_t = 0, t0
    with open(out / "samples.jsonl", "w") as f:
        try:
            while time.perf_counter() - t0 < a.seconds and graph.is_running():
                time.sleep(max(0.0, min(a.interval, a.seconds - (time.perf_counter() - t0))))
                now = time.perf_counter()
                st = graph.stats()
                lat, latencies[:] = np.array(latencies[:]) * 1000.0, []
                row = {
                    "t": round(now - t0, 2),
                    "rss_mb": round(rss_mb(), 2),
                    "threads": os_threads(),
                    "py_threads": threading.active_count(),
                    "frames": st.frames_out,
                    "drops": st.drops,
                    "fps": round((st.frames_out - last_frames) / max(now - last_t, 1e-9), 2),
                    "lat_p50_ms": round(float(np.percentile(lat, 50)), 1) if lat.size else None,
                    "lat_p95_ms": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
                    "lat_max_ms": round(float(lat.max()), 1) if lat.size else None,
                    "loops": source.loops,
                    "load1": round(os.getloadavg()[0], 2),
                }
                last_frames, last_t = st.frames_out, now
                samples.append(row)
                f.write(json.dumps(row) + "\n")
                f.flush()
        finally:
            graph.stop()
            try:
                stats = graph.wait(graph.stop_timeout + 2.0)
            except StageError as exc:  # recorded in the summary, not a traceback
                stats = graph.stats()
                print(f"soak: the graph failed: {exc}", file=sys.stderr)
    left = [t.name for t in threading.enumerate() if t.name.startswith("graph:")]
    summary = summarise(samples, warmup, threads_before, os_threads(), left)
    summary["graph_error"] = stats.error
    summary["stuck_threads"] = stats.stuck_threads
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0 if samples and not left and stats.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
