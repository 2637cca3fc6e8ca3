"""Statistics helpers: bounded latency windows and their percentiles."""

from __future__ import annotations

import json

import numpy as np

from poselive.graph import GraphStats, StageStats
from poselive.graph.stats import LatencyWindow, RateMeter


def test_window_keeps_last_samples_and_counts_all() -> None:
    w = LatencyWindow(size=100)
    rng = np.random.default_rng(0)
    xs = rng.uniform(0.001, 0.05, 250)
    for x in xs:
        w.add(float(x))
    count, total, samples = w.snapshot()
    assert count == 250 and np.isclose(total, xs.sum())
    assert sorted(samples) == sorted(xs[-100:])
    s = StageStats.from_window("pose", w, wall_s=10.0)
    recent = xs[-100:] * 1000
    assert s.frames == 250 and np.isclose(s.utilisation, xs.sum() / 10.0, atol=1e-4)
    assert np.isclose(s.p50_ms, np.percentile(recent, 50), atol=1e-3)
    assert np.isclose(s.p95_ms, np.percentile(recent, 95), atol=1e-3)
    assert np.isclose(s.mean_ms, recent.mean(), atol=1e-3) and np.isclose(s.max_ms, recent.max())


def test_empty_window_and_stats_serialise() -> None:
    s = StageStats.from_window("det", LatencyWindow(), wall_s=0.0)
    assert s.frames == 0 and s.p50_ms is None and s.utilisation == 0.0
    g = GraphStats(stages={"det": s})
    d = json.loads(json.dumps(g.to_dict()))
    assert d["stages"]["det"]["p50_ms"] is None and "det" in g.summary()


def test_rate_meter_counts_recent_window_only() -> None:
    r = RateMeter(window_s=2.0)
    for i in range(100):
        r.tick(10.0 + i * 0.05)  # 20 per second from t=10 to t=14.95
    assert abs(r.rate(now=15.0, started=0.0) - 20.0) <= 0.5
    assert r.rate(now=30.0, started=0.0) == 0.0  # stalled: recent throughput falls to 0
