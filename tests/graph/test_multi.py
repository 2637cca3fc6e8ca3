"""Several graphs side by side (one per source): they end on their own, a failing one
does not stop the others, and one signal stops them all cleanly."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np

from poselive.graph import Graph, run_graphs
from poselive.graph.testing import SleepStage, SyntheticSource


def _graph(name: str, frames: int | None, fail_at: int | None = None, live: bool = False):
    src = SyntheticSource(frames, fps=200.0, is_live=live, name=name)
    stage = SleepStage(f"{name}-work", 0.001, fail_at=fail_at)
    return Graph(src, [stage]), src, stage


def test_graphs_run_side_by_side_and_each_ends_on_its_own():
    g1, _, s1 = _graph("a", 30)
    g2, _, s2 = _graph("b", 70)
    out = run_graphs([g1, g2], ["a", "b"])
    assert [o.name for o in out] == ["a", "b"] and all(o.ok for o in out)
    assert out[0].stats.frames_out == 30 and out[1].stats.frames_out == 70
    assert s1.seen == list(range(30)) and s2.seen == list(range(70))
    assert s1.close_calls == 1 and s2.close_calls == 1


def test_a_failing_graph_does_not_stop_the_others():
    bad, _, _ = _graph("bad", 50, fail_at=5)
    good, _, seen = _graph("good", 60)
    out = run_graphs([bad, good], ["bad", "good"])
    assert not out[0].ok and "failed on purpose" in str(out[0].error)
    assert out[1].ok and out[1].stats.frames_out == 60 and seen.seen == list(range(60))


def test_max_frames_applies_to_each_graph():
    g1, _, _ = _graph("a", None, live=True)
    g2, _, _ = _graph("b", None, live=True)
    out = run_graphs([g1, g2], max_frames=12)
    assert [o.stats.frames_in for o in out] == [12, 12]
    assert [o.name for o in out] == ["a", "b"]  # the sources' names by default


def test_one_sigint_stops_every_graph_cleanly():
    g1, src1, st1 = _graph("a", None, live=True)
    g2, src2, st2 = _graph("b", None, live=True)
    threading.Timer(0.6, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    out = run_graphs([g1, g2])
    assert time.monotonic() - t0 < 5
    assert all(o.ok and o.stats.interrupted for o in out)
    assert src1.close_calls >= 1 and src2.close_calls >= 1
    assert st1.close_calls == 1 and st2.close_calls == 1
    assert all(o.stats.frames_out > 0 for o in out)
    # the previous SIGINT handler is back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_shareable_engine_serializes_non_onnxruntime_backends():
    from engines.base import SerializedEngine, shareable

    class Slow:
        backend = "torch"
        inputs = outputs = []
        spec: dict = {}

        def __init__(self):
            self.active = 0
            self.max_active = 0

        def run(self, feeds):
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            time.sleep(0.01)
            self.active -= 1
            return {"y": np.zeros(1)}

        def close(self):
            pass

    raw = Slow()
    eng = shareable(raw)
    assert isinstance(eng, SerializedEngine) and eng.backend == "torch" and eng.spec == {}
    threads = [threading.Thread(target=lambda: [eng.run({}) for _ in range(5)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert raw.max_active == 1

    class Ort(Slow):
        backend = "onnxruntime"

    ort = Ort()
    assert shareable(ort) is ort  # ONNX Runtime sessions take concurrent runs
