"""The models poselive ships in poselive/assets/: they load, describe how they were made, run by
default in `poselive process`, and keep the accuracy their model cards report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from poselive.sinks import read_jsonl
from poselive import assets

REPO = Path(__file__).resolve().parents[2]
ASSETS = assets.asset_dir()  # the package data: .onnx and model cards
CHECKPOINTS = REPO / "assets"  # the .pt checkpoints stay out of the package
SAMPLE = assets.sample_path()

# Each shipped model's own tests (spec, provenance, checkpoint = ONNX, recorded AP) are in
# tests/apps/test_shipped_pose_models.py and tests/apps/test_default_detector.py.


@pytest.mark.parametrize("name", sorted(assets.MODELS))
def test_every_table_entry_is_shipped_with_card_and_checkpoint(name):
    from engines.onnxruntime import OrtEngine

    entry = assets.MODELS[name]
    onnx, card, pt = ASSETS / entry.file, ASSETS / entry.card, CHECKPOINTS / f"{name}.pt"
    for p in (onnx, card, pt):
        assert p.is_file(), f"{p} is not shipped"
    assert OrtEngine(onnx, threads=1).spec["name"] == name
    text = card.read_text()
    for must in ("License", "Accuracy", "Speed"):
        assert must in text, f"{card.name} does not mention {must!r}"
    assert set(assets.ALIASES.values()) <= set(assets.MODELS)


def test_process_runs_the_default_models(tmp_path):
    """No --det/--pose: the shipped models find the people of the sample clip."""
    js = tmp_path / "p.jsonl"
    r = subprocess.run([sys.executable, "-m", "poselive", "process", str(SAMPLE), "--json", str(js),
                        "--max-frames", "10", "--quiet"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr
    header, frames = read_jsonl(js)
    assert len(frames) == 10
    assert sum(1 for f in frames if f["persons"]) >= 8
    inside = total = 0
    for f in frames:
        for p in f["persons"]:
            x1, y1, x2, y2 = p["box"]
            w, h = x2 - x1, y2 - y1
            for x, y, s in p["keypoints"]:
                if s >= 0.3:
                    total += 1
                    inside += (x1 - 0.1 * w <= x <= x2 + 0.1 * w) and (y1 - 0.1 * h <= y <= y2 + 0.1 * h)
    assert total > 0 and inside / total >= 0.9  # confident keypoints lie on the person found
