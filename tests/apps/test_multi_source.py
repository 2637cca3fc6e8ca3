"""`poselive process A B …`: several sources side by side, one graph each, models shared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import pytest

from poselive.apps.pipeline import output_for, source_names
from poselive.errors import ConfigError
from poselive import assets
from poselive.sinks import partial_path, read_jsonl

REPO = Path(__file__).resolve().parents[2]
SAMPLE = assets.sample_path()


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _frames(mp4: Path) -> int:
    with av.open(str(mp4)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_source_names_are_short_safe_and_unique():
    names = source_names(["a/walk.mp4", "b/walk.mp4", 0, "rtsp://u:pw@10.0.0.5:554/live/main",
                          "frames/", "cam 2.avi"])
    assert names == ["walk", "walk_2", "cam0", "10.0.0.5_554_live_main", "frames", "cam_2"]
    assert output_for("out/{name}.mp4", "walk", True, "--out") == "out/walk.mp4"
    assert output_for("one.mp4", "walk", False, "--out") == "one.mp4"
    with pytest.raises(ConfigError, match=r"\{name\}"):
        output_for("one.mp4", "walk", True, "--out")


def test_two_videos_side_by_side(shared, tmp_path):
    vtest = shared / "data" / "videos" / "vtest.avi"
    r = run_cli("process", str(SAMPLE), str(vtest), "--max-frames", "6",
                "--out", str(tmp_path / "{name}.mp4"), "--json", str(tmp_path / "{name}.jsonl"),
                "--stats-json", str(tmp_path / "{name}.stats.json"))
    assert r.returncode == 0, r.stderr
    for name, src in (("sample", SAMPLE), ("vtest", vtest)):
        header, frames = read_jsonl(tmp_path / f"{name}.jsonl")
        assert header["source"] == str(src)
        assert [f["frame"] for f in frames] == list(range(6))  # files: lossless, nothing skipped
        assert _frames(tmp_path / f"{name}.mp4") == 6
        assert (tmp_path / f"{name}.stats.json").is_file()
        assert f"[{name}]" in r.stderr
    # vtest.avi has several people in every frame; the shipped models find some of them.
    _, frames = read_jsonl(tmp_path / "vtest.jsonl")
    assert sum(len(f["persons"]) for f in frames) > 0


def test_a_missing_source_is_reported_and_the_others_still_run(tmp_path):
    r = run_cli("process", str(SAMPLE), str(tmp_path / "nope.mp4"), "--max-frames", "4", "--quiet",
                "--json", str(tmp_path / "{name}.jsonl"))
    assert r.returncode == 1
    assert "[nope]" in r.stderr and "nope.mp4" in r.stderr and "Traceback" not in r.stderr
    assert "1 of 2 sources failed: nope" in r.stderr
    _, frames = read_jsonl(tmp_path / "sample.jsonl")
    assert len(frames) == 4


def test_several_sources_need_name_in_output_paths(tmp_path):
    r = run_cli("process", str(SAMPLE), str(SAMPLE), "--json", str(tmp_path / "one.jsonl"))
    assert r.returncode == 1 and "{name}" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "one.jsonl").exists()




def test_ctrl_c_with_several_sources_leaves_every_output_playable(shared, tmp_path):
    import signal
    import time

    vtest = shared / "data" / "videos" / "vtest.avi"
    proc = subprocess.Popen([sys.executable, "-m", "poselive", "process", str(vtest), str(SAMPLE),
                             "--out", str(tmp_path / "{name}.mp4"), "--json", str(tmp_path / "{name}.jsonl")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    js = tmp_path / "vtest.jsonl"
    deadline = time.time() + 120
    growing = partial_path(js)  # the JSONL is renamed into place at the end
    while time.time() < deadline and (not growing.exists() or len(growing.read_text().splitlines()) < 4):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # vtest.avi (795 frames) is still running at the signal
    for name in ("vtest", "sample"):
        _, frames = read_jsonl(tmp_path / f"{name}.jsonl")
        n = _frames(tmp_path / f"{name}.mp4")
        assert n >= 1 and abs(len(frames) - n) <= 1, (name, n, len(frames))
        assert [f["frame"] for f in frames] == list(range(len(frames)))
    assert "[vtest]" in err and "interrupted" in err
