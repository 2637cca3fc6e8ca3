"""DetectionScheduler: detector frames by index, carried ROIs (velocity, death), adaptation."""

from __future__ import annotations

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.geometry import box_iou, keypoints_to_box_xyxy
from poselive.tracking import DetectionScheduler
from poselive.tracking.simulate import skeleton_at


def _poses(*xs):
    k = np.array([skeleton_at(x, 600, 300, 1.0, 0.0) for x in xs], np.float32)
    return k, np.full(k.shape[:2], 0.9, np.float32)


def test_detector_frames_depend_on_the_index_only():
    s = DetectionScheduler(interval=3)
    # No poses were ever observed: the decision is the same (nothing to wait for).
    assert [s.should_detect(i) for i in range(9)] == [True, False, False] * 3
    assert s.should_detect(2)  # the index went back (a restarted source): detect
    assert [s.should_detect(i) for i in (3, 4, 6)] == [False, False, True]  # gaps (drops) count
    assert all(DetectionScheduler(interval=1).should_detect(i) for i in range(3))


def test_carried_rois_are_enlarged_keypoint_boxes_moved_by_velocity():
    s = DetectionScheduler(interval=5, box_scale=1.25)  # (default 1.4)
    assert len(s.carry(0)[0]) == 0  # nothing observed yet
    k0, ks = _poses(300)
    s.observe(0, 0.0, k0, ks, box_scores=np.array([0.8]))
    k1, _ = _poses(306)  # moved 6 px in 0.1 s: 60 px/s
    keep = s.observe(1, 0.1, k1, ks, box_scores=np.array([0.8]), parents=[0], detected=False)
    assert list(keep) == [0]
    tight = keypoints_to_box_xyxy(k1)[0]
    boxes, scores = s.carry(2, 0.2)
    assert boxes.shape == (1, 4) and scores[0] == pytest.approx(0.8)  # the detector's score lives on
    assert boxes[0, 2] - boxes[0, 0] == pytest.approx(1.25 * (tight[2] - tight[0]), rel=1e-4)
    # Velocity: half the measured 60 px/s (smoothed against the 0 known before) for 0.1 s.
    centre = (boxes[0, 0] + boxes[0, 2]) / 2
    assert centre == pytest.approx((tight[0] + tight[2]) / 2 + 3.0, abs=1e-3)
    # Without a time, frame steps times the frame-interval estimate (1/30 s moved 20 %
    # towards the 0.1 s seen) are used.
    b2, _ = s.carry(3)
    dt = 2 * (0.8 / 30 + 0.2 * 0.1)
    assert (b2[0, 0] + b2[0, 2]) / 2 == pytest.approx((tight[0] + tight[2]) / 2 + 30.0 * dt, abs=1e-3)


def test_a_detector_frame_takes_velocity_from_the_overlapping_previous_person():
    s = DetectionScheduler(interval=5)
    s.observe(0, 0.0, *_poses(300, 800))
    s.observe(1, 0.1, *_poses(810, 304))  # fresh detections, in another order
    boxes, _ = s.carry(2, 0.2)
    c = (boxes[:, 0] + boxes[:, 2]) / 2
    tight = keypoints_to_box_xyxy(_poses(810, 304)[0])
    tc = (tight[:, 0] + tight[:, 2]) / 2
    np.testing.assert_allclose(c - tc, [5.0, 2.0], atol=1e-3)  # 0.5 * (100, 40) px/s * 0.1 s


def test_a_carried_roi_dies_when_its_pose_confidence_falls():
    s = DetectionScheduler(interval=5, min_keypoints=4)
    k, ks = _poses(300, 700)
    s.observe(0, 0.0, k, ks)
    ks2 = ks.copy()
    ks2[1] = 0.05  # the second person walked out: the pose in their ROI is background
    keep = s.observe(1, 0.1, k, ks2, parents=[0, 1], detected=False)
    assert list(keep) == [0] and s.carried_dropped == 1
    boxes, _ = s.carry(2)
    assert len(boxes) == 1 and boxes[0, 0] < 500
    ks3 = ks[:1] * 0.1  # weak scores everywhere: the mean is under min_pose_score
    ks3[0, :6] = 0.35
    assert len(s.observe(2, 0.2, k[:1], ks3, parents=[0], detected=False)) == 0
    assert len(s.carry(3)[0]) == 0


def test_a_carried_roi_dies_when_it_overlaps_another_person():
    s = DetectionScheduler(interval=5)
    k, ks = _poses(300, 700)
    dup = k[:1] + 2.0  # a ROI that drifted onto the first person
    keep = s.observe(0, 0.0, np.concatenate([k, dup]), np.concatenate([ks, ks[:1] * 0.9]),
                     box_scores=np.array([0.9, 0.8, 0.7]), parents=[0, 1, 2], detected=False)
    assert list(keep) == [0, 1]  # the better-scored copy stays
    boxes, scores = s.carry(1)
    assert len(boxes) == 2 and np.allclose(scores, [0.9, 0.8])
    assert box_iou(boxes[:1], boxes[1:])[0, 0] == 0


def test_a_detector_frame_keeps_a_missed_person_once_and_no_duplicates():
    s = DetectionScheduler(interval=5, max_missed=1)
    k, ks = _poses(300, 800)
    s.observe(0, 0.0, k, ks)
    # The detector finds the first person only: the second one's ROI is added, the
    # first one's ROI (overlapping the detection) is not.
    det = keypoints_to_box_xyxy(k[:1]) + np.array([[-15, -25, 15, 10]], np.float32)
    boxes, scores, parents = s.merge(det, np.array([0.8]), 5, 0.5)
    assert list(parents) == [-1, 1] and scores[0] == pytest.approx(0.8)
    assert box_iou(boxes[1:], keypoints_to_box_xyxy(k[1:]))[0, 0] > 0.4
    s.observe(5, 0.5, k, ks, parents=parents, detected=True)
    # Missed by the next detector frame too: now it goes.
    boxes, _, parents = s.merge(det, np.array([0.8]), 10, 1.0)
    assert list(parents) == [-1] and len(boxes) == 1
    # A person the detector finds again starts counting afresh.
    s.observe(10, 1.0, k, ks)
    assert list(s.merge(det, np.array([0.8]), 15, 1.5)[2]) == [-1, 1]


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
