"""TrackerStage and IntervalDetectorStage: on simulated packets, and on real video with the
real teacher detector and pose model (skipped without the shared data)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poselive.stages.tracker import IntervalDetectorStage, TrackerStage
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


def test_interval_detector_uses_rois_between_runs_and_falls_back_when_poses_are_late():
    sched = DetectionScheduler(interval=3, max_lag=0)
    det = RecordingDetector()
    stage = IntervalDetectorStage(det, sched, wait_timeout=0.01)
    kpts = np.tile(np.array([[150, 150], [140, 380], [160, 380], [150, 250]], np.float32), (1, 1, 1))
    kpts = np.concatenate([kpts, np.repeat(kpts[:, -1:], 13, axis=1)], axis=1)
    ks = np.full((1, 17), 0.9, np.float32)
    detected = []
    for i in range(7):
        p = stage(FramePacket(i, i / 30, np.zeros((8, 8, 3), np.uint8)))
        detected.append(p.meta["detected"])
        if i != 4:  # the poses of frame 4 never arrive (as if still in flight)
            sched.observe(i, i / 30, kpts, ks)
        if not p.meta["detected"]:
            assert len(p.detections) == 1 and p.detections.boxes[0, 1] < 150
    # 0: detect (no poses yet); 1, 2: ROIs; 3: detect; 4: ROIs; 5: poses of 4 late ->
    # detect; 6: ROIs again.
    assert detected == [True, False, False, True, False, True, False]
    assert det.ran == [0, 3, 5]


@pytest.fixture(scope="module")
def real_stages(teachers):
    from engines.onnxruntime import OrtEngine
    from poselive.stages import DetectorStage, PoseStage

    return (DetectorStage(OrtEngine(teachers / "rtmdet-nano-person.onnx", threads=1)),
            PoseStage(OrtEngine(teachers / "movenet-lightning.onnx", threads=1)))


def test_interval_pipeline_on_real_video(shared, real_stages):
    det_stage, pose_stage = real_stages
    sched = DetectionScheduler(interval=3)
    detector = IntervalDetectorStage(det_stage, sched)
    tracker = TrackerStage("coco17", smoothing={}, trails=10, scheduler=sched)
    cap = cv2.VideoCapture(str(shared / "data" / "videos" / "vtest.avi"))
    ids_per_frame, flags = [], []
    for i in range(10):
        ok, img = cap.read()
        assert ok
        p = tracker(pose_stage(detector(FramePacket(i, i / 10.0, img))))
        flags.append(p.meta["detected"])
        ids_per_frame.append(set(int(t) for t in p.poses.track_ids if t >= 0))
    cap.release()
    assert flags[0] and flags[3] and flags[6] and flags[9]
    assert not any(flags[j] for j in (1, 2, 4, 5, 7, 8))
    # The same pedestrians keep their IDs through frames without detection.
    assert len(ids_per_frame[2]) >= 3
    kept = len(ids_per_frame[2] & ids_per_frame[9]) / len(ids_per_frame[2])
    assert kept >= 0.6
    assert set(p.meta["trails"]) == ids_per_frame[9]


def test_interval_detector_and_tracker_in_two_threads():
    """The detector thread runs ahead of the tracker thread through a short queue."""
    import queue
    import threading

    from poselive.tracking.simulate import skeleton_at

    class MovingDetector(RecordingDetector):
        def __call__(self, packet):
            self.ran.append(packet.index)
            x = 200 + 3 * packet.index
            packet.detections = Detections(np.array([[x - 60, 290, x + 60, 610]], np.float32),
                                           np.array([0.9], np.float32), np.zeros(1, np.int64))
            return packet

    def pose_stage(packet):
        # Stand-in for the pose model: the walker's skeleton, wherever the box is.
        x = 200 + 3 * packet.index
        d = packet.detections
        k = np.repeat(skeleton_at(x, 600, 300, 1.0, 0.0)[None], len(d), 0)
        packet.poses = Poses(k, np.full(k.shape[:2], 0.9, np.float32), d.boxes, d.scores)
        return packet

    sched = DetectionScheduler(interval=4, max_lag=2)
    det = MovingDetector()
    detector = IntervalDetectorStage(det, sched, wait_timeout=2.0)
    tracker = TrackerStage("coco17", scheduler=sched)
    q: queue.Queue = queue.Queue(maxsize=2)
    out = []

    def run_detector():
        for i in range(40):
            q.put(detector(FramePacket(i, i / 30, np.zeros((720, 1280, 3), np.uint8))))
        q.put(None)

    def run_tracker():
        while (p := q.get()) is not None:
            out.append(tracker(pose_stage(p)))

    threads = [threading.Thread(target=run_detector), threading.Thread(target=run_tracker)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert len(out) == 40 and not any(th.is_alive() for th in threads)
    assert 10 <= len(det.ran) < 40  # the ROIs replaced most detector runs
    ids = [int(p.poses.track_ids[0]) for p in out[2:]]
    assert len(set(ids)) == 1 and ids[0] >= 1  # one walker, one ID throughout
