"""The tracker on the real PoseTrack18 fragment (ground-truth track IDs, real detections)."""

from __future__ import annotations

import pytest

from poselive.tracking import PoseTracker
from poselive.tracking.evaluate import load_posetrack_frames, mot_scores, run_tracker_on
from poselive.tracking.simulate import animate_annotated_frame


@pytest.fixture(scope="module")
def posetrack(shared):
    root = shared / "data" / "mmpose-tests" / "posetrack18" / "annotations"
    ann, det = root / "test_posetrack18_val.json", root / "test_posetrack18_human_detections.json"
    if not ann.is_file() or not det.is_file():
        pytest.skip("PoseTrack18 fragment not found")
    return load_posetrack_frames(str(ann), str(det))


def test_loader_reads_ids_and_filters_ignore_regions(posetrack):
    crowd = max(posetrack, key=lambda f: len(f.gt_ids))
    assert len(crowd.gt_ids) >= 10 and len(set(crowd.gt_ids.tolist())) == len(crowd.gt_ids)
    assert crowd.gt_keypoints.shape == (len(crowd.gt_ids), 17, 2)
    assert 0 < len(crowd.det_boxes) < 100  # the file holds 100 for this frame, most in ignore regions


def test_tracker_on_moving_camera_over_real_crowd(posetrack):
    crowd = max(posetrack, key=lambda f: len(f.gt_ids))
    seq = animate_annotated_frame(crowd.gt_ids, crowd.gt_boxes, crowd.gt_keypoints, crowd.gt_visible,
                                  crowd.det_boxes, crowd.det_scores, crowd.image_size, duration=2.0, seed=0)
    # This detector's scores are low (most true people 0.4-0.5): thresholds to match.
    scores = mot_scores([run_tracker_on(seq.frames, lambda: PoseTracker(high_threshold=0.3,
                                                                         new_track_threshold=0.3))])
    assert scores.id_switches <= 1
    assert scores.idf1 > 0.75


def test_default_tracker_labels_low_scored_real_people(posetrack):
    # The real detector scores most true people under the default high threshold (0.5).
    # Low-score people with a confident skeleton still get tracks; its steady low-score
    # false positives (random keypoint scores) do not.
    crowd = max(posetrack, key=lambda f: len(f.gt_ids))
    seq = animate_annotated_frame(crowd.gt_ids, crowd.gt_boxes, crowd.gt_keypoints, crowd.gt_visible,
                                  crowd.det_boxes, crowd.det_scores, crowd.image_size, duration=2.0, seed=0)
    scores = mot_scores([run_tracker_on(seq.frames, PoseTracker)])
    bytetrack_rule = mot_scores([run_tracker_on(seq.frames, lambda: PoseTracker(low_track_hits=0))])
    assert scores.id_switches <= 1 and scores.false_positives == 0
    assert scores.idf1 > 0.8 and scores.idf1 > bytetrack_rule.idf1 + 0.1
