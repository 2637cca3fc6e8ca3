"""The movenet codec: encode then decode returns the keypoints; decoding follows MoveNet's rules."""

from __future__ import annotations

import numpy as np
import pytest

from poselive.codecs import build_codec


@pytest.fixture
def codec():
    return build_codec({"type": "movenet", "input_size": [192, 192], "heatmap_size": [48, 48]})


def test_round_trip(codec):
    rng = np.random.default_rng(0)
    # two persons near the crop centre (MoveNet's crops are centred on the person)
    kpts = rng.uniform(40, 150, (2, 17, 2)).astype(np.float32)
    vis = np.ones((2, 17))
    vis[1, 3] = 0
    maps = codec.encode(kpts, vis)
    assert maps["keypoint_heatmaps"].shape == (2, 17, 48, 48)
    assert maps["keypoint_regression"].shape == (2, 34, 48, 48)
    assert maps["weights"][1, 3] == 0 and maps["weights"][0].all()
    got, scores = codec.decode(maps["center_heatmap"], maps["keypoint_heatmaps"],
                               maps["keypoint_regression"], maps["keypoint_offsets"])
    ok = maps["weights"] > 0
    np.testing.assert_allclose(got[ok], kpts[ok], atol=1e-3)
    np.testing.assert_allclose(scores[ok], 1.0)
    assert scores[1, 3] < 1.0  # an unlabelled point has no peak


def test_points_outside_get_no_target(codec):
    kpts = np.array([[[-5.0, 10.0], [100.0, 100.0], [191.9, 200.0]]], np.float32)
    maps = codec.encode(kpts)
    assert maps["weights"].tolist() == [[0.0, 1.0, 0.0]]


def test_center_prior_picks_the_middle_person(codec):
    """Two equal centre peaks: the one nearer the crop centre wins (MoveNet's prior)."""
    h = w = 48
    center = np.zeros((1, 1, h, w), np.float32)
    center[0, 0, 24, 24] = 0.8
    center[0, 0, 5, 5] = 0.9  # higher but far off-centre
    heat = np.zeros((1, 17, h, w), np.float32)
    reg = np.zeros((1, 34, h, w), np.float32)
    off = np.zeros((1, 34, h, w), np.float32)
    heat[0, :, 24, 26] = 0.7  # keypoints next to the middle person
    heat[0, :, 6, 6] = 0.75   # slightly stronger, next to the corner person
    kpts, scores = codec.decode(center, heat, reg, off)
    np.testing.assert_allclose(kpts[0, 0], [26 * 4, 24 * 4])
    np.testing.assert_allclose(scores[0], 0.7)


def test_prior_formula(codec):
    d = np.sqrt((np.arange(48)[:, None] - 24.0) ** 2 + (np.arange(48)[None] - 24.0) ** 2)
    np.testing.assert_allclose(codec.center_prior, 1 / (d + 1.8), rtol=1e-3)
    assert codec.params()["type"] == "movenet"
    assert build_codec(codec.params()).params() == codec.params()
