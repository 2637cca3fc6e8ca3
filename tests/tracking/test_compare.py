"""mean_oks_between_runs / compare_runs on JSONL pose files written here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.tracking import compare_runs, mean_oks_between_runs
from poselive.tracking.simulate import simulate_plaza


def _write(path, frames, noise=0.0, permute=False, extra=False, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        fh.write(json.dumps({"format": "poselive-jsonl", "keypoint_set": "coco17"}) + "\n")
        for i, f in enumerate(frames):
            order = rng.permutation(len(f.gt_ids)) if permute else np.arange(len(f.gt_ids))
            persons = []
            for j in order:
                k = f.gt_keypoints[j] + rng.normal(0, noise, (17, 2))
                persons.append({"id": int(f.gt_ids[j]), "box": f.gt_boxes[j].tolist(), "score": 0.9,
                                "keypoints": [[float(x), float(y), 0.9] for x, y in k]})
            if extra:
                persons.append({"id": -1, "box": [0, 0, 50, 100], "score": 0.4,
                                "keypoints": [[10.0, 10.0 + 5 * q, 0.8] for q in range(17)]})
            fh.write(json.dumps({"frame": i, "time": f.t, "persons": persons}) + "\n")


@pytest.fixture(scope="module")
def frames():
    return simulate_plaza(num_people=4, duration=1.0, seed=2).frames


def test_identical_runs_score_one(tmp_path, frames):
    a = tmp_path / "a.jsonl"
    _write(a, frames)
    _write(tmp_path / "b.jsonl", frames, permute=True)  # person order does not matter
    assert mean_oks_between_runs(a, tmp_path / "b.jsonl") == pytest.approx(1.0, abs=1e-6)


def test_oks_falls_with_noise_and_counts_unmatched(tmp_path, frames):
    a = tmp_path / "a.jsonl"
    _write(a, frames)
    scores = []
    for noise in (2.0, 8.0, 20.0):
        b = tmp_path / f"b{noise}.jsonl"
        _write(b, frames, noise=noise, permute=True, seed=1)
        scores.append(mean_oks_between_runs(a, b))
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0.0
    c = tmp_path / "c.jsonl"
    _write(c, frames, noise=2.0, extra=True)
    res = compare_runs(a, c)
    n_persons = sum(len(f.gt_ids) for f in frames)
    assert res.frames == len(frames) and res.matched == n_persons
    assert res.only_in_b == len(frames) and res.only_in_a == 0


def test_bad_files_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        mean_oks_between_runs(tmp_path / "missing.jsonl", tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(ConfigError, match="not JSON"):
        compare_runs(bad, bad)
