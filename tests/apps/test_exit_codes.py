"""The documented exit codes: 0 done, 1 error, 2 usage, 130 Ctrl-C, 143 SIGTERM; and the
conventions around them (one error line in the syntax of the command run, -q, no
third-party log noise)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_usage_error_is_2_and_a_bad_input_is_1(tmp_path):
    r = run_cli("process", "sample", "--max-frames", "x")
    assert r.returncode == 2 and "--max-frames" in r.stderr
    r = run_cli("process", str(tmp_path / "missing.mp4"), "--json", str(tmp_path / "p.jsonl"))
    assert r.returncode == 1 and "missing.mp4" in r.stderr and "Traceback" not in r.stderr


def test_no_camera_error_names_this_commands_syntax_without_opencv_noise(tmp_path):
    r = run_cli("process", "7", "--json", str(tmp_path / "p.jsonl"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr  # no "[ WARN:0@…] global cap_v4l.cpp" lines before it
    assert "no camera at index 7" in lines[0] and "poselive process VIDEO" in lines[0]
    assert "--source" not in lines[0]  # process takes its source as an argument, not a flag


def test_quiet_prints_nothing_on_success_and_default_prints_the_table(tmp_path):
    js = tmp_path / "p.jsonl"
    r = run_cli("process", "sample", "--json", str(js), "--max-frames", "3", "-q", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == ""
    r = run_cli("process", "sample", "--json", str(js), "--max-frames", "3", cwd=tmp_path)
    assert r.returncode == 0
    assert "models: detector poselive-det-nano.onnx (onnxruntime), pose" in r.stderr
    header = next(line for line in r.stderr.splitlines() if line.startswith("stage"))
    assert header.split() == ["stage", "p50", "ms", "p95", "ms", "util", "queue", "drops"]
    assert "[ WARN" not in r.stderr


def test_sigterm_stops_cleanly_with_143(shared, tmp_path):
    video = shared / "data" / "videos" / "vtest.avi"
    js = tmp_path / "t.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "poselive", "process", str(video), "--json", str(js)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "t.partial.jsonl"  # outputs are renamed into place only when finished
    deadline = time.time() + 120
    while time.time() < deadline and (not partial.exists() or len(partial.read_text().splitlines()) < 4):
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted" in err and len(js.read_text().splitlines()) >= 4


def test_version_names_the_runtime_pieces():
    r = run_cli("--version")
    assert r.returncode == 0
    for piece in ("poselive", "ONNX Runtime", "PyAV", "OpenCV"):
        assert piece in r.stdout
