"""Codec round trips (encode -> decode) over random keypoints, borders and invisible points."""

from __future__ import annotations

import numpy as np
import pytest

from poselive.codecs import CODECS, build_codec
from poselive.errors import ConfigError

INPUT = (192, 256)


def _keypoints(seed: int = 0, n: int = 8, k: int = 17):
    """Random keypoints inside [0, size) plus points exactly on and just inside each border."""
    rng = np.random.default_rng(seed)
    w, h = INPUT
    kpts = rng.uniform([0, 0], [w, h], size=(n, k, 2)).astype(np.float32)
    border = np.array([[0, 0], [w - 1, h - 1], [w - 0.01, 10.3], [0.2, h - 0.01], [w / 2, 0],
                       [w - 1, h / 2], [0, h - 1], [3.7, 0.4]], np.float32)
    kpts[0, : len(border)] = border
    vis = rng.uniform(size=(n, k)) > 0.2
    vis[0, : len(border)] = True
    return kpts, vis


SPECS = [
    {"type": "simcc", "input_size": list(INPUT), "split_ratio": 2.0, "sigma": [4.9, 5.66]},
    {"type": "simcc", "input_size": list(INPUT), "split_ratio": 2.0, "sigma": [4.9, 5.66],
     "use_dark": True},
    {"type": "simcc", "input_size": list(INPUT), "split_ratio": 3.0, "sigma": [6.0, 6.0],
     "label_smooth_weight": 0.1},
    {"type": "msra_heatmap", "input_size": list(INPUT), "heatmap_size": [48, 64], "sigma": 2.0},
    {"type": "udp_heatmap", "input_size": list(INPUT), "heatmap_size": [48, 64], "sigma": 2.0},
    {"type": "udp_heatmap", "input_size": list(INPUT), "heatmap_size": [24, 32], "sigma": 1.5},
    {"type": "regression", "input_size": list(INPUT)},
]


def _decode(codec, enc):
    if "simcc_x" in enc:
        return codec.decode(enc["simcc_x"], enc["simcc_y"])
    if "heatmaps" in enc:
        return codec.decode(enc["heatmaps"])
    return codec.decode(enc["keypoint_labels"])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["type"] + str(s.get("heatmap_size", s.get("split_ratio", ""))) + ("dark" if s.get("use_dark") else ""))
def test_round_trip_under_half_pixel(spec):
    codec = build_codec(spec)
    kpts, vis = _keypoints()
    enc = codec.encode(kpts, vis)
    assert enc["weights"].shape == vis.shape
    np.testing.assert_array_equal(enc["weights"] > 0, vis)
    dec, scores = _decode(codec, enc)
    assert dec.shape == kpts.shape and scores.shape == vis.shape
    if spec["type"] == "simcc" and not spec.get("use_dark"):
        # Plain argmax: each coordinate is within half a bin (and the last half pixel of the
        # input rounds down to the last bin), so the bound holds per axis.
        err = np.abs(dec - kpts)[vis]
    else:
        err = np.linalg.norm(dec - kpts, axis=-1)[vis]
    assert err.max() < 0.5, f"max error {err.max():.3f} px"
    if spec["type"] != "regression":
        # invisible points carry no target, so nothing is decoded for them
        assert np.all(scores[~vis] <= 0)
        assert np.all(scores[vis] > 0.5)


def test_params_rebuild_identical_codec():
    for spec in SPECS:
        codec = build_codec(spec)
        again = build_codec(codec.params())
        assert again.params() == codec.params()
        assert codec.params()["type"] == spec["type"]
    assert {"simcc", "msra_heatmap", "udp_heatmap", "regression"} <= set(CODECS)


def test_points_outside_input_get_zero_weight():
    kpts = np.array([[[-1.0, 10.0], [10.0, 256.0], [192.0, 5.0], [191.9, 255.9]]], np.float32)
    for spec in SPECS:
        w = build_codec(spec).encode(kpts)["weights"][0]
        np.testing.assert_array_equal(w, [0, 0, 0, 1])


def test_msra_classic_quarter_offset_and_unbiased_dark():
    kpts, vis = _keypoints(seed=3)
    classic = build_codec({"type": "msra_heatmap", "input_size": list(INPUT), "heatmap_size": [48, 64],
                           "unbiased": False, "refine": "quarter"})
    dec, _ = classic.decode(classic.encode(kpts, vis)["heatmaps"])
    err = np.abs(dec - kpts)[vis]
    # classic targets sit on whole cells: errors up to half a cell (2 px) plus a quarter cell
    assert err.max() <= 3.0 + 1e-4
    dark = build_codec({"type": "msra_heatmap", "input_size": list(INPUT), "heatmap_size": [48, 64]})
    dec2, _ = dark.decode(dark.encode(kpts, vis)["heatmaps"])
    assert np.abs(dec2 - kpts)[vis].max() < 0.05  # DARK on Gaussian targets is near exact
    assert np.abs(dec2 - kpts)[vis].mean() < np.abs(dec - kpts)[vis].mean()


def test_heatmap_decode_of_noisy_output_stays_near():
    """Decoding a blurred, noisy heatmap (as a network gives) is still close and finite."""
    codec = build_codec({"type": "udp_heatmap", "input_size": list(INPUT), "heatmap_size": [48, 64],
                         "sigma": 2.0})
    kpts, _ = _keypoints(seed=5)
    hm = codec.encode(kpts)["heatmaps"]
    rng = np.random.default_rng(0)
    noisy = hm * 0.8 + rng.normal(0, 0.02, hm.shape).astype(np.float32)
    dec, scores = codec.decode(noisy)
    assert np.all(np.isfinite(dec))
    assert np.median(np.linalg.norm(dec - kpts, axis=-1)) < 2.0


def test_regression_rle_scores():
    codec = build_codec({"type": "regression", "input_size": list(INPUT)})
    coords = np.array([[[0.5, 0.5, 0.1, 0.3], [0.25, 1.0, 0.9, 0.9]]], np.float32)
    kpts, scores = codec.decode(coords)
    np.testing.assert_allclose(kpts[0], [[96, 128], [48, 256]])
    np.testing.assert_allclose(scores[0], [0.8, 0.1], atol=1e-6)


def test_bad_codec_specs():
    with pytest.raises(ConfigError, match="known"):
        build_codec({"type": "nope"})
    with pytest.raises(ConfigError):
        build_codec({"type": "msra_heatmap", "refine": "magic"})
    with pytest.raises(ConfigError):
        build_codec({"type": "simcc", "bogus": 1})
