"""`poselive report`: PNG plots from a real run's JSONL, and one clear line for bad input."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np

from poselive import assets


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_report_plots_a_real_run(tmp_path):
    js = tmp_path / "p.jsonl"
    r = run_cli("process", str(assets.sample_path()), "--json", str(js), "--max-frames", "12", "-q")
    assert r.returncode == 0, r.stderr
    r = run_cli("report", str(js), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    for name in ("persons", "tracks", "confidence"):
        img = cv2.imread(str(tmp_path / "rep" / f"{name}.png"))
        assert img is not None and img.shape[1] == 960, name
        # something was drawn in colour (lines, bars, the heat map), not a blank page
        sat = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 1]
        assert (sat > 80).mean() > 0.002, name
    tracks = cv2.imread(str(tmp_path / "rep" / "tracks.png"))
    assert tracks.shape[0] > 110  # at least one track row
    assert str(tmp_path / "rep" / "persons.png") in r.stderr


def test_report_on_bad_input_is_one_line(tmp_path):
    r = run_cli("report", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "r"))
    assert r.returncode == 1 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "poselive"}\n{"frame": 0, "persons": []}\n')
    r = run_cli("report", str(bad), "--out", str(tmp_path / "r"))
    assert r.returncode == 1 and "poselive process --json" in r.stderr


def test_persons_plot_counts_match_the_file(tmp_path):
    from poselive.apps.report import plot_persons

    frames = [{"frame": i, "persons": [{"id": 1 if i else None, "keypoints": []}] * (i % 3)} for i in range(10)]
    img = cv2.imread(str(plot_persons(frames, tmp_path)))
    blue = np.all(np.abs(img.astype(int) - (180, 119, 31)) < 40, axis=-1)
    assert blue.any()
