"""DetectionScheduler: the interval, ROIs from poses, merging, adaptation and threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.geometry import box_iou, keypoints_to_box_xyxy
from poselive.tracking import DetectionScheduler
from poselive.tracking.simulate import skeleton_at


def _poses(*xs):
    k = np.array([skeleton_at(x, 600, 300, 1.0, 0.0) for x in xs], np.float32)
    return k, np.full(k.shape[:2], 0.9, np.float32)


def test_interval_and_first_frames():
    s = DetectionScheduler(interval=3)
    assert s.should_detect(0)  # nothing known yet
    assert s.should_detect(1)  # still no poses: keep detecting
    s.observe(1, 1 / 30, *_poses(200))
    decisions = [s.should_detect(i) for i in range(2, 9)]
    assert decisions == [False, False, True, False, False, True, False]


def test_rois_are_enlarged_keypoint_boxes_moved_by_velocity():
    s = DetectionScheduler(interval=5, box_scale=1.25)
    k, ks = _poses(300)
    s.observe(10, 1.0, k, ks, velocities=np.array([[60.0, 0.0]]))
    tight = keypoints_to_box_xyxy(k)[0]
    boxes, scores = s.rois_for_next_frame(12, t=1.5)
    w = tight[2] - tight[0]
    assert boxes.shape == (1, 4) and scores[0] == pytest.approx(0.9)
    assert boxes[0, 2] - boxes[0, 0] == pytest.approx(1.25 * w, rel=1e-4)
    centre = (boxes[0, 0] + boxes[0, 2]) / 2
    assert centre == pytest.approx((tight[0] + tight[2]) / 2 + 30.0, abs=1e-3)  # 60 px/s * 0.5 s
    # Without a time, frame steps and the frame-interval estimate are used.
    b2, _ = s.rois_for_next_frame(11)
    assert (b2[0, 0] + b2[0, 2]) / 2 == pytest.approx(centre - 30.0 + 2.0, abs=1e-3)


def test_poor_poses_give_no_roi():
    s = DetectionScheduler(interval=5, min_keypoints=4)
    k, ks = _poses(300, 700)
    ks[1] = 0.05  # the second "person" was a false ROI: no confident keypoint
    s.observe(0, 0.0, k, ks)
    boxes, _ = s.rois_for_next_frame(1)
    assert len(boxes) == 1 and boxes[0, 0] < 500


def test_merge_keeps_missed_people_only():
    s = DetectionScheduler(interval=5)
    k, ks = _poses(300, 800)
    s.observe(0, 0.0, k, ks)
    # The detector finds the first person only.
    det = keypoints_to_box_xyxy(k[:1])
    det = det + np.array([[-15, -25, 15, 10]], np.float32)
    boxes, scores = s.merge(det, np.array([0.8]), 1, 1 / 30)
    assert len(boxes) == 2 and scores[0] == pytest.approx(0.8)
    assert box_iou(boxes[1:], keypoints_to_box_xyxy(k[1:]))[0, 0] > 0.5


def test_adaptive_interval_rises_when_behind_and_falls_back():
    s = DetectionScheduler(interval=1, adaptive=True, max_interval=4)
    for _ in range(30):
        n = s.report_load(dropped=2)
    assert n == 4  # capped at max
    for _ in range(200):
        n = s.report_load(dropped=0, latency=0.01, frame_interval=0.033)
    assert n == 1  # never below the configured interval
    fixed = DetectionScheduler(interval=2)
    assert fixed.report_load(dropped=5) == 2
    with pytest.raises(ConfigError):
        DetectionScheduler(interval=0)


def test_wait_for_poses_from_another_thread():
    s = DetectionScheduler(interval=5, max_lag=1)
    s.observe(0, 0.0, *_poses(300))
    assert s.wait_for_poses(2, timeout=0.0)  # frame 0 is within the lag allowed for frame 2
    assert not s.wait_for_poses(5, timeout=0.05)  # needs frame 3 or later

    def tracker_thread():
        time.sleep(0.05)
        s.observe(3, 0.1, *_poses(310))

    th = threading.Thread(target=tracker_thread)
    th.start()
    assert s.wait_for_poses(5, timeout=5.0)
    th.join()


def test_duplicate_and_weak_poses_do_not_become_rois():
    s = DetectionScheduler(interval=5)
    k, ks = _poses(300, 700)
    dup = k[:1] + 2.0  # the same person estimated from a second, overlapping box
    weak = k[1:] + np.array([300.0, 0.0], np.float32)  # a box on background: low scores
    weak_s = np.full((1, 17), 0.1, np.float32)
    weak_s[0, :5] = 0.35
    s.observe(0, 0.0, np.concatenate([k, dup, weak]), np.concatenate([ks, ks[:1] * 0.9, weak_s]))
    boxes, scores = s.rois_for_next_frame(1)
    assert len(boxes) == 2
    assert np.allclose(sorted(scores), [0.9, 0.9])  # the better-scored copy was kept
