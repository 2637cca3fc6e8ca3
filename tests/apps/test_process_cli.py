"""`poselive process` and `run_live.py` end to end, as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from poselive import assets
from poselive.sinks import partial_path, read_jsonl

REPO = Path(__file__).resolve().parents[2]
SAMPLE = assets.sample_path()


def run_cli(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=kw.pop("cwd", REPO), **kw)


def count_video_frames(path: Path) -> tuple[int, str, str]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, s.codec_context.name, s.codec_context.pix_fmt


@pytest.fixture(scope="module")
def models(teachers) -> list[str]:
    return ["--det", str(teachers / "rtmdet-nano-person.onnx"),
            "--pose", str(teachers / "movenet-lightning.onnx")]


def test_vtest_200_frames(shared, models, tmp_path):
    """The issue's acceptance run: 200 frames in, 200 frames and 200 JSON lines out."""
    video = shared / "data" / "videos" / "vtest.avi"
    out, js, csv = tmp_path / "a.mp4", tmp_path / "p.jsonl", tmp_path / "p.csv"
    r = run_cli("process", str(video), "--out", str(out), "--json", str(js), "--csv", str(csv),
                "--max-frames", "200", *models)
    assert r.returncode == 0, r.stderr
    assert "200 frames" in r.stderr
    n, codec, pix = count_video_frames(out)
    assert (n, codec, pix) == (200, "h264", "yuv420p")
    header, frames = read_jsonl(js)
    assert header["fps"] == 10.0 and header["frame_size"] == [768, 576]
    assert len(header["keypoint_names"]) == 17
    assert [f["frame"] for f in frames] == list(range(200))
    assert [f["time"] for f in frames[:3]] == pytest.approx([0.0, 0.1, 0.2])
    with_people = sum(1 for f in frames if f["persons"])
    assert with_people >= 180
    for f in frames:
        for p in f["persons"]:
            assert isinstance(p["id"], int) or p["id"] is None
            for x, y, s in p["keypoints"]:
                assert 0 <= x <= 767 and 0 <= y <= 575
    rows = csv.read_text().splitlines()
    assert len(rows) - 1 == sum(len(f["persons"]) for f in frames)


def test_sample_clip_default_flow(models, tmp_path):
    """The README demo command on the shipped sample clip."""
    out, js = tmp_path / "s.mp4", tmp_path / "s.jsonl"
    stats = tmp_path / "stats.json"
    r = run_cli("process", str(SAMPLE), "--out", str(out), "--json", str(js), "--max-frames", "15",
                "--stats-json", str(stats), "--quiet", *models)
    assert r.returncode == 0, r.stderr
    assert count_video_frames(out)[0] == 15
    st = json.loads(stats.read_text())
    assert st["frames_out"] == 15
    assert set(st["stages"]) >= {"detector", "pose", "render"}


def test_ctrl_c_leaves_playable_outputs(shared, models, tmp_path):
    video = shared / "data" / "videos" / "vtest.avi"
    out, js = tmp_path / "i.mp4", tmp_path / "i.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "poselive", "process", str(video), "--out", str(out),
                             "--json", str(js), "--quiet", *models], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    # Wait until some frames have been written, then interrupt like a user at a terminal.
    growing = partial_path(js)  # the JSONL is renamed into place at the end
    while time.time() < deadline and (not growing.exists() or len(growing.read_text().splitlines()) < 4):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 10
    assert proc.returncode == 130, err
    header, frames = read_jsonl(js)
    n, codec, _ = count_video_frames(out)
    assert codec == "h264" and n >= 3
    assert [f["frame"] for f in frames] == list(range(len(frames)))
    assert abs(len(frames) - n) <= 1  # the two sinks saw the same frames


def test_missing_source_is_a_clear_error(models, tmp_path):
    r = run_cli("process", str(tmp_path / "nope.mp4"), "--json", str(tmp_path / "x.jsonl"), *models)
    assert r.returncode == 1
    assert "nope.mp4" in r.stderr and "Traceback" not in r.stderr


def test_wrong_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not a model")
    r = run_cli("process", str(SAMPLE), "--json", str(tmp_path / "x.jsonl"), "--det", str(bad),
                "--pose", str(bad))
    assert r.returncode == 1
    assert "model.onnx" in r.stderr and "Traceback" not in r.stderr


def test_nothing_to_write(tmp_path):
    r = run_cli("process", str(SAMPLE))
    assert r.returncode == 2 and "nothing to write" in r.stderr


def test_run_live_without_camera_says_so(models, tmp_path):
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    r = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", "7", *models],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert "camera" in r.stderr.lower() and "Traceback" not in r.stderr


def test_run_live_headless_on_a_file(models, tmp_path):
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    r = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", str(SAMPLE),
                        "--max-frames", "5", *models],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "headless" in r.stderr and "5/5 frames" in r.stderr


def test_tracking_with_detection_interval(models, tmp_path):
    """IDs are filled and stay stable; the detector runs on every 3rd frame only."""
    js = tmp_path / "t.jsonl"
    stats = tmp_path / "st.json"
    r = run_cli("process", str(SAMPLE), "--json", str(js), "--max-frames", "30", "--det-interval", "3",
                "--smooth", "--trails", "10", "--out", str(tmp_path / "t.mp4"), "--quiet",
                "--stats-json", str(stats), *models)
    assert r.returncode == 0, r.stderr
    _, frames = read_jsonl(js)
    ids = [p["id"] for f in frames[10:] for p in f["persons"]]
    assert ids and sum(i is not None for i in ids) / len(ids) > 0.5
    # A handful of people walk through the clip: far fewer IDs than person-detections.
    assert len({i for i in ids if i is not None}) < len(ids) / 4
    st = json.loads(stats.read_text())
    assert st["stages"]["detector"]["frames"] == 30 and "tracker" in st["stages"]


def test_onnx_runtime_path_does_not_need_torch(models, tmp_path):
    """The runtime with ONNX models works where torch cannot be imported."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from poselive.apps.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    js = tmp_path / "nt.jsonl"
    r = subprocess.run([sys.executable, "-c", code, "process", str(SAMPLE), "--json", str(js),
                        "--out", str(tmp_path / "nt.mp4"), "--max-frames", "4", "--quiet",
                        "--det-interval", "2", "--smooth", *models],
                       capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert len(read_jsonl(js)[1]) == 4


def test_run_live_with_two_sources_headless_and_in_a_window(models, tmp_path):
    """Two --source flags: two pipelines sharing the models; headless prints a summary per
    source, and with a (offscreen) display they show as tiles of one window."""
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    args = [sys.executable, str(REPO / "run_live.py"), "--source", str(SAMPLE), "--source", str(SAMPLE),
            "--max-frames", "4", *models]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "[sample] 4/4 frames" in r.stderr and "[sample_2] 4/4 frames" in r.stderr
    env["QT_QPA_PLATFORM"] = "offscreen"
    r = subprocess.run(args + ["--out", str(tmp_path / "{name}.mp4")], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "running headless" not in r.stderr and "[sample_2] 4/4 frames" in r.stderr, r.stderr
    assert (tmp_path / "sample.mp4").stat().st_size > 0 and (tmp_path / "sample_2.mp4").stat().st_size > 0


def test_detection_interval_is_deterministic_and_keeps_the_persons(shared, tmp_path):
    """The same file and flags give byte-identical JSONL with --det-interval 3 (the
    detector picks frames by index, the pose stage carries ROIs in frame order), and about
    as many persons per frame as detection on every frame (default models, vtest.avi)."""
    video = str(shared / "data" / "videos" / "vtest.avi")
    outs = {}
    for tag, n in (("a", 3), ("b", 3), ("every", 1)):
        outs[tag] = tmp_path / f"{tag}.jsonl"
        r = run_cli("process", video, "--json", str(outs[tag]), "--max-frames", "40", "--det-interval", str(n),
                    "--quiet")
        assert r.returncode == 0, r.stderr
    assert outs["a"].read_bytes() == outs["b"].read_bytes()
    persons = {tag: sum(len(f["persons"]) for f in read_jsonl(p)[1]) for tag, p in outs.items()}
    assert persons["every"] > 100
    assert abs(persons["a"] / persons["every"] - 1) < 0.1, persons


def test_realtime_paces_a_file_as_a_live_source(tmp_path):
    """--realtime: 30 frames of the sample clip take their own duration (29 frame
    intervals), on newest-frame edges, and the JSONL header says they were paced."""
    js, st = tmp_path / "rt.jsonl", tmp_path / "rt.json"
    t0 = time.monotonic()
    r = run_cli("process", str(SAMPLE), "--json", str(js), "--max-frames", "30", "--realtime", "--quiet",
                "--stats-json", str(st))
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    stats = json.loads(st.read_text())
    header, frames = read_jsonl(js)
    assert header["realtime"] is True and header["fps"] > 0
    due = 29 / header["fps"]
    assert stats["frames_in"] == 30 and stats["wall_time_s"] >= 0.95 * due and wall >= 0.95 * due
    assert stats["stages"]["detector"]["policy"] == "latest"
    assert stats["stages"]["sinks"]["policy"] == "lossless"  # one stage writes every output
    assert len(frames) == stats["frames_out"] and frames == sorted(frames, key=lambda f: f["frame"])
