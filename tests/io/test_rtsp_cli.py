"""`poselive process rtsp://…` against the real loopback GStreamer RTSP server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from poselive import assets
from poselive.sinks import partial_path, read_jsonl

REPO = Path(__file__).resolve().parents[2]


def test_process_an_rtsp_stream(rtsp_url: str, teachers, tmp_path) -> None:
    js, out = tmp_path / "r.jsonl", tmp_path / "r.mp4"
    r = subprocess.run([sys.executable, "-m", "poselive", "process", rtsp_url, "--json", str(js),
                        "--out", str(out), "--max-frames", "12", "--quiet",
                        "--det", str(teachers / "rtmdet-nano-person.onnx"),
                        "--pose", str(teachers / "movenet-lightning.onnx")],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    header, frames = read_jsonl(js)
    # A live source feeds `latest` edges: a slow machine may drop some of the 12 frames.
    assert header["source"] == rtsp_url and 1 <= len(frames) <= 12
    assert [f["frame"] for f in frames] == sorted({f["frame"] for f in frames})
    times = [f["time"] for f in frames]
    assert times == sorted(times)  # stream timestamps, in order
    assert out.stat().st_size > 0


def test_process_survives_a_server_restart(rtsp_server, tmp_path) -> None:
    """The server dies mid-run and comes back on the same port: `process` reconnects, the
    outputs hold frames from both sides of the gap in time order, and the statistics
    count the outage."""
    import json
    import time

    js, out, stats = tmp_path / "r.jsonl", tmp_path / "r.mp4", tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, "-m", "poselive", "process", rtsp_server.url, "--json", str(js),
                             "--out", str(out), "--stats-json", str(stats), "--max-frames", "40",
                             "--rtsp-timeout", "2", "--no-track"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        growing = partial_path(js)  # the JSONL is renamed into place at the end
        while time.monotonic() < deadline and (not growing.exists() or growing.read_text().count("\n") < 4):
            time.sleep(0.2)
        rtsp_server.stop()
        time.sleep(1.5)
        rtsp_server.start()
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "reconnecting" in err and "is back" in err, err
    header, frames = read_jsonl(js)
    times = [f["time"] for f in frames]
    assert times == sorted(times) and len(frames) >= 5
    assert max(b - a for a, b in zip(times, times[1:])) > 1.0  # the gap is in the timestamps
    st = json.loads(stats.read_text())["source_status"]
    assert st["outages"] == 1 and st["reconnects"] == 1, st
    assert out.stat().st_size > 0


def test_an_rtsp_stream_and_a_file_side_by_side(rtsp_url: str, tmp_path) -> None:
    """Several sources in one process: a live stream (latest edges) beside a file (lossless)."""
    sample = assets.sample_path()
    r = subprocess.run([sys.executable, "-m", "poselive", "process", rtsp_url, str(sample),
                        "--json", str(tmp_path / "{name}.jsonl"), "--max-frames", "8", "--quiet"],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    port = rtsp_url.split(":")[2].split("/")[0]
    header, live = read_jsonl(tmp_path / f"127.0.0.1_{port}_test.jsonl")
    assert header["source"] == rtsp_url and 1 <= len(live) <= 8
    _, frames = read_jsonl(tmp_path / "sample.jsonl")
    assert [f["frame"] for f in frames] == list(range(8))
