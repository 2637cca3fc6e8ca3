"""`poselive process rtsp://…` against the real loopback GStreamer RTSP server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from poselive.sinks import read_jsonl

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
