"""TrackerStage and IntervalDetectorStage: on simulated packets, and on real video with the
real teacher detector and pose model (skipped without the shared data)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poselive.stages.tracker import IntervalDetectorStage, IntervalPoseStage, TrackerStage
from poselive.tracking import DetectionScheduler
from poselive.tracking.simulate import simulate_plaza
from poselive.types import Detections, FramePacket, Poses


def _packets(seq):
    img = np.zeros((8, 8, 3), np.uint8)  # the tracker never looks at pixels
    for i, f in enumerate(seq.frames):
        yield FramePacket(i, f.t, img, poses=Poses(f.keypoints.copy(), f.keypoint_scores.copy(),
                                                   f.boxes.copy(), f.scores.copy()))


def test_tracker_stage_ids_smoothing_and_trails():
    seq = simulate_plaza(num_people=4, duration=2.0, seed=3, crossing=True)
    raw = TrackerStage("coco17")
    smooth = TrackerStage("coco17", smoothing={}, trails=5)
    assert smooth.name == "tracker"
    confirmed = 0
    for a, b, f in zip(_packets(seq), _packets(seq), seq.frames):
        a, b = raw(a), smooth(b)
        ids = b.poses.track_ids
        assert ids.dtype == np.int64 and ids.shape == (len(f.boxes),)
        np.testing.assert_array_equal(ids, a.poses.track_ids)  # smoothing does not change IDs
        unconfirmed = ids < 0
        np.testing.assert_array_equal(b.poses.keypoints[unconfirmed], f.keypoints[unconfirmed])
        trails = b.meta["trails"]
        assert set(trails) == set(int(i) for i in ids[ids >= 0])
        assert all(1 <= len(v) <= 5 for v in trails.values())
        confirmed += int((ids >= 0).sum())
    assert confirmed > 0
    # Somewhere, confirmed keypoints were actually smoothed.
    moved = np.abs(b.poses.keypoints - f.keypoints).max()
    assert moved > 0 and "trails" not in a.meta


def test_tracker_stage_handles_missing_poses_and_restarts():
    st = TrackerStage("coco17")
    p = st(FramePacket(0, 0.0, np.zeros((4, 4, 3), np.uint8)))
    assert p.poses is None
    seq = simulate_plaza(num_people=2, duration=0.5, seed=1)
    pk = list(_packets(seq))
    for q in pk:
        st(q)
    st(pk[0])  # the source looped: time goes back, the tracker starts over without failing
    assert pk[0].poses.track_ids is not None


class RecordingDetector:
    """A stand-in detector stage that returns fixed boxes and records the frames it ran on."""

    name = "detector"

    def __init__(self):
        self.ran = []

    def __call__(self, packet):
        self.ran.append(packet.index)
        packet.detections = Detections(np.array([[100, 100, 200, 400]], np.float32), np.array([0.9], np.float32),
                                       np.zeros(1, np.int64))
        return packet


def test_interval_detector_picks_frames_by_index_and_never_waits():
    """With no pose stage at all behind it, the detector still runs on frames 0, 3, 6."""
    det = RecordingDetector()
    stage = IntervalDetectorStage(det, DetectionScheduler(interval=3))
    out = [stage(FramePacket(i, i / 30, np.zeros((8, 8, 3), np.uint8))) for i in range(8)]
    assert det.ran == [0, 3, 6]
    assert [p.meta["detected"] for p in out] == [i % 3 == 0 for i in range(8)]
    assert all((p.detections is None) != p.meta["detected"] for p in out)


class WalkerPose:
    """A stand-in pose stage: one walker at x = 200 + 3 i; a box that holds no walker
    (more than 80 px away) gives a pose with weak scores."""

    name = "pose"
    keypoint_set = None

    def __call__(self, packet):
        from poselive.tracking.simulate import skeleton_at

        x = 200 + 3 * packet.index
        d = packet.detections
        k = np.repeat(skeleton_at(x, 600, 300, 1.0, 0.0)[None], len(d), 0)
        centres = (d.boxes[:, 0] + d.boxes[:, 2]) / 2
        ks = np.where((np.abs(centres - x) < 80)[:, None], 0.9, 0.05).astype(np.float32)
        packet.poses = Poses(k, np.repeat(ks, k.shape[1], 1), d.boxes.copy(), d.scores.copy())
        return packet


def test_interval_pose_stage_carries_one_roi_per_person_and_kills_the_rest():
    """A detector that finds the walker twice and a false box: the duplicate and the
    false person die on the first carried frame and never come back between detections."""

    class NoisyDetector(RecordingDetector):
        def __call__(self, packet):
            self.ran.append(packet.index)
            x = 200 + 3 * packet.index
            boxes = np.array([[x - 60, 290, x + 60, 610], [x - 55, 295, x + 62, 612],
                              [900, 100, 1000, 300]], np.float32)
            packet.detections = Detections(boxes, np.array([0.9, 0.6, 0.4], np.float32), np.zeros(3, np.int64))
            return packet

    sched = DetectionScheduler(interval=5)
    det = NoisyDetector()
    detector, pose = IntervalDetectorStage(det, sched), IntervalPoseStage(WalkerPose(), sched)
    tracker = TrackerStage("coco17")
    counts, ids = [], []
    for i in range(20):
        p = tracker(pose(detector(FramePacket(i, i / 30, np.zeros((720, 1280, 3), np.uint8)))))
        counts.append(len(p.poses))
        ids.append([int(t) for t in p.poses.track_ids])
        assert len(p.detections) == len(p.poses)
    assert det.ran == [0, 5, 10, 15]
    # Detector frames show what the detector found; carried frames the walker only.
    assert counts == [3, 1, 1, 1, 1] * 4
    walker = [row[0] for row in ids[3:] if row]
    assert len(set(walker)) == 1 and walker[0] >= 1
    # The carried box follows the walker (3 px per frame).
    p = pose(detector(FramePacket(21, 21 / 30, np.zeros((720, 1280, 3), np.uint8))))
    cx = float((p.detections.boxes[0, 0] + p.detections.boxes[0, 2]) / 2)
    assert abs(cx - (200 + 3 * 21)) < 6


@pytest.fixture(scope="module")
def real_stages(teachers):
    from engines.onnxruntime import OrtEngine
    from poselive.stages import DetectorStage, PoseStage

    return (DetectorStage(OrtEngine(teachers / "rtmdet-nano-person.onnx", threads=1)),
            PoseStage(OrtEngine(teachers / "movenet-lightning.onnx", threads=1)))


def test_interval_pipeline_on_real_video(shared, real_stages):
    """Detection every 3 frames on real video: about as many persons as detection on every
    frame, and the same pedestrians keep their IDs through frames without detection."""
    det_stage, pose_stage = real_stages
    cap = cv2.VideoCapture(str(shared / "data" / "videos" / "vtest.avi"))
    images = [cap.read()[1] for _ in range(12)]
    cap.release()
    counts = {}
    for n in (1, 3):
        sched = DetectionScheduler(interval=n)
        detector, pose = IntervalDetectorStage(det_stage, sched), IntervalPoseStage(pose_stage, sched)
        tracker = TrackerStage("coco17", smoothing={}, trails=10)
        ids_per_frame, flags, count = [], [], 0
        for i, img in enumerate(images):
            p = tracker(pose(detector(FramePacket(i, i / 10.0, img))))
            flags.append(p.meta["detected"])
            count += len(p.poses)
            ids_per_frame.append(set(int(t) for t in p.poses.track_ids if t >= 0))
        counts[n] = count
    assert flags == [i % 3 == 0 for i in range(12)]
    assert len(ids_per_frame[2]) >= 3
    kept = len(ids_per_frame[2] & ids_per_frame[9]) / len(ids_per_frame[2])
    assert kept >= 0.6
    assert set(p.meta["trails"]) == ids_per_frame[11]
    assert abs(counts[3] / counts[1] - 1) < 0.15, counts
