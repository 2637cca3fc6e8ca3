"""One-Euro smoothing: jitter reduction on a still pose, lag on a moving one, per-track state."""

from __future__ import annotations

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.tracking import KeypointSmoother, OneEuroFilter
from poselive.tracking.simulate import skeleton_at

FPS = 30.0


def _jitter(seq: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(seq, axis=0), axis=-1).mean())


def test_still_pose_jitter_reduced_by_60_percent():
    rng = np.random.default_rng(0)
    pose = skeleton_at(400, 600, 300, 1.0, 0.0)
    f = OneEuroFilter()  # defaults
    raw, out = [], []
    for i in range(120):
        x = pose + rng.normal(0, 2.0, pose.shape)  # 2 px keypoint noise
        raw.append(x)
        out.append(f(x, i / FPS))
    raw, out = np.array(raw)[15:], np.array(out)[15:]  # skip the filter's start
    reduction = 1 - _jitter(out) / _jitter(raw)
    assert reduction >= 0.6
    # It smooths towards the truth, it does not wander off.
    assert np.abs(out.mean(0) - pose).max() < 1.0


@pytest.mark.parametrize("speed", [100.0, 300.0])
def test_constant_speed_lag_under_one_frame(speed):
    pose = skeleton_at(100, 600, 300, 1.0, 0.0)
    f = OneEuroFilter()
    n = 90
    lag_px = []
    for i in range(n):
        t = i / FPS
        truth = pose + np.array([speed * t, 0.0], np.float32)
        y = f(truth, t)
        if i > 45:  # steady state
            lag_px.append(float((truth - y)[:, 0].mean()))
    lag_frames = np.mean(lag_px) / (speed / FPS)
    assert 0 < lag_frames < 1.0


def test_mask_passes_low_score_points_through_and_reset():
    f = OneEuroFilter()
    a = np.zeros((3, 2), np.float32)
    f(a, 0.0)
    b = np.full((3, 2), 10.0, np.float32)
    y = f(b, 1 / FPS, mask=np.array([True, False, True]))
    assert np.allclose(y[1], 10.0)  # not smoothed
    assert 0 < y[0, 0] < 10.0  # smoothed
    f.reset()
    assert np.allclose(f(a, 2 / FPS), a)  # first value after reset passes through
    with pytest.raises(ConfigError):
        OneEuroFilter(min_cutoff=0.0)


def test_keypoint_smoother_per_track_and_born_fresh():
    sm = KeypointSmoother()
    k = np.zeros((2, 17, 2), np.float32)
    s = np.ones((2, 17), np.float32)
    sm(np.array([1, -1]), k, s, 0.0)
    k2 = k + 20.0
    out = sm(np.array([1, -1]), k2, s, 1 / FPS)
    assert (out[0] < 20.0).all()  # track 1 smoothed
    assert np.allclose(out[1], 20.0)  # unconfirmed: raw
    sm.forget([])
    out = sm(np.array([1, 2]), k2 + 5, s, 2 / FPS)
    assert np.allclose(out, 25.0)  # filters restarted: both pass through
