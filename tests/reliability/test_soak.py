"""The soak benchmark's short version (CI): the live pipeline on a looping file for a few
seconds records memory, latency and threads, and leaves no graph thread behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_short_soak_records_and_ends_cleanly(media, tmp_path):
    out = tmp_path / "soak"
    env = {**os.environ, "PYTHONPATH": str(media.REPO)}
    r = subprocess.run([sys.executable, str(media.REPO / "benchmarks" / "soak.py"), "--seconds", "4",
                        "--interval", "0.5", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(ln) for ln in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) >= 4
    assert all(r["rss_mb"] > 0 and r["threads"] > 0 for r in rows)
    assert rows[-1]["frames"] > 0 and any(r["lat_p50_ms"] is not None for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["graph_threads_left"] == [] and summary["stuck_threads"] == []
    assert summary["graph_error"] is None
    assert summary["rss_growth_pct"] is not None and summary["threads_max"] >= summary["threads_min"]
    # the JSONL the live run wrote was finalised (renamed) and holds whole lines
    text = (out / "soak.jsonl").read_text()
    assert text.endswith("\n") and len(text.splitlines()) - 1 == rows[-1]["frames"] or len(text.splitlines()) > 1
