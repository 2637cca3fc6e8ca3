"""What the desktop GUI costs and how it behaves (issue 16, docs/gui.md).

    QT_QPA_PLATFORM=offscreen python3 benchmarks/gui.py [--source CLIP] [--seconds 15] [--rounds 2]
        [--json OUT]

Runs the real window (offscreen unless a display is set) on a clip with the shipped
models, the modes interleaved for ``--rounds`` rounds (each round starting with another
mode) so that load from other processes hits them alike (the median over rounds is
reported), each for ``--seconds`` after its
first frame:

- ``headless``: the same graph without any window (the pipeline's own throughput);
- ``fast, overlay``: the window, the file as fast as possible, overlay drawn by the GUI;
- ``fast, no overlay``: the same with every overlay toggle off (the raw frame is shown);
- ``real time, overlay``: the file at its own frame rate, as a user watches it.

For each: the graph's throughput (frames out per second), frames shown per second in the
large view, UI-thread time per frame (overlay + image hand-over), how late a 10 ms
UI-thread timer fired (p50 / p99 / max: the window's responsiveness), the time to close
the window (every graph stopped and joined) and the load average around the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


def _default_clip() -> str:
    shared = Path(os.environ.get("POSELIVE_SHARED", REPO.parent / "shared"))
    vtest = shared / "data" / "videos" / "vtest.avi"
    from poselive import assets

    return str(vtest if vtest.is_file() else assets.sample_path())


def headless(models, source: str, seconds: float) -> dict:
    """The pipeline alone, as fast as possible (lossless), no renderer."""
    from poselive.apps.gui.playback import PlaybackSource
    from poselive.apps.pipeline import PipelineOptions, build_pipeline

    opts = PipelineOptions(source=source, trails=30, policy="lossless")
    pipe = build_pipeline(opts, models.get(opts), source=PlaybackSource(source, realtime=False, loop=True))
    g = pipe.graph
    g.start()
    while g.stats().frames_out < 3:
        time.sleep(0.05)
    n0, t0 = g.stats().frames_out, time.perf_counter()
    time.sleep(seconds)
    n1, t1 = g.stats().frames_out, time.perf_counter()
    g.stop()
    g.wait(3)
    return {"mode": "headless", "graph_fps": (n1 - n0) / (t1 - t0)}


def gui_mode(app, models, source: str, seconds: float, realtime: bool, overlay: bool) -> dict:
    """One window in one mode; returns its measurements."""
    from PyQt6 import QtCore

    from poselive.apps.gui.session import Settings
    from poselive.apps.gui.window import MainWindow

    flags = dict(boxes=overlay, ids=overlay, skeleton=overlay, trails=False, hud=overlay)
    w = MainWindow([source], settings=Settings(realtime=realtime, loop=True, **flags),
                   settings_file=str(Path("/tmp") / "poselive-bench-gui.ini"),
                   models=models)
    w.show()
    lateness: list[float] = []
    state = {"last": None}

    def tick() -> None:
        now = time.perf_counter()
        if state["last"] is not None:
            lateness.append((now - state["last"] - 0.010) * 1000.0)
        state["last"] = now

    timer = QtCore.QTimer(interval=10)
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)

    def pump_until(cond, limit: float) -> None:
        end = time.perf_counter() + limit
        while not cond() and time.perf_counter() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)

    pump_until(lambda: w.view.frames_shown >= 3, 60)
    s = w.selected
    shown0, ui_ms0, ui_n0 = w.view.frames_shown, w.ui_ms_total, w.ui_frames
    out0, t0 = s.stats().frames_out, time.perf_counter()
    timer.start()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    dt = time.perf_counter() - t0
    st = s.stats()
    shown = w.view.frames_shown - shown0
    ui_frames = w.ui_frames - ui_n0
    lat = np.asarray(lateness) if lateness else np.zeros(1)
    res = {
        "mode": f"{'real time' if realtime else 'fast'}, {'overlay' if overlay else 'no overlay'}",
        "graph_fps": (st.frames_out - out0) / dt,
        "shown_fps": shown / dt,
        "ui_ms_per_frame": (w.ui_ms_total - ui_ms0) / max(1, ui_frames),
        "timer_late_ms_p50": float(np.percentile(lat, 50)),
        "timer_late_ms_p99": float(np.percentile(lat, 99)),
        "timer_late_ms_max": float(lat.max()),
        "drops": st.drops,
        "e2e_p50_ms": st.latency_p50_ms,
    }
    w.close()
    res["close_s"] = w.close_time_s
    app.processEvents()
    w.deleteLater()
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default=_default_clip())
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json")
    a = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6 import QtWidgets

    from poselive.apps.gui.session import ModelCache

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    models = ModelCache()
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {}
    modes = [None, (False, True), (False, False), (True, True)]  # None: headless
    for k in range(a.rounds):
        # Each round starts with another mode, so no mode always runs first or after the same one.
        for m in modes[k % len(modes):] + modes[:k % len(modes)]:
            r = headless(models, a.source, a.seconds) if m is None else gui_mode(app, models, a.source, a.seconds, *m)
            runs.setdefault(r["mode"], []).append(r)
            print(r, file=sys.stderr, flush=True)
    order = ["headless", "fast, overlay", "fast, no overlay", "real time, overlay"]
    runs = {m: runs[m] for m in order if m in runs}
    rows = [{"mode": m, **{k: float(np.median([r[k] for r in rs if r.get(k) is not None]))
                           for k in rs[0] if k != "mode" and rs[0][k] is not None}}
            for m, rs in runs.items()]
    load_after = os.getloadavg()
    info = {"source": a.source, "seconds": a.seconds, "rounds": a.rounds, "cpus": os.cpu_count(), "machine": platform.processor()
            or platform.machine(), "platform": os.environ.get("QT_QPA_PLATFORM"),
            "loadavg_before": load_before, "loadavg_after": load_after}

    def f(x, d=1):
        return "-" if x is None else f"{x:.{d}f}"

    print(f"source {Path(a.source).name}, {a.seconds:.0f} s per mode, median of {a.rounds} rounds, {info['cpus']} CPUs, "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print("| mode | graph fps | shown fps | UI ms/frame | 10 ms timer late p50/p99/max (ms) | close (s) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {f(r['graph_fps'])} | {f(r.get('shown_fps'))} | {f(r.get('ui_ms_per_frame'), 2)} | "
              + (f"{f(r['timer_late_ms_p50'])} / {f(r['timer_late_ms_p99'])} / {f(r['timer_late_ms_max'])}"
                 if "timer_late_ms_p50" in r else "-")
              + f" | {f(r.get('close_s'), 2)} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"info": info, "rows": rows, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
