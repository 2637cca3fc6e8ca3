"""Tracking stages: track IDs and smoothing (``TrackerStage``), detection every N frames
(``IntervalDetectorStage``).

Detection every N frames is two stages sharing one ``DetectionScheduler``: the interval
detector picks the detector frames by index; the interval pose stage carries each
person's ROI from the previous frame's pose on the other frames (see the scheduler's
docstring). The detector never waits for poses, and on a file the output is the same
run after run.

    scheduler = DetectionScheduler(interval=5)
    detector = IntervalDetectorStage(DetectorStage(det_engine), scheduler)
    pose = IntervalPoseStage(PoseStage(pose_engine), scheduler)
    tracker = TrackerStage("coco17", smoothing={}, trails=30)
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from poselive.errors import ConfigError
from poselive.geometry import keypoints_to_box_xyxy
from poselive.tracking.scheduler import DetectionScheduler
from poselive.tracking.smoothing import KeypointSmoother
from poselive.tracking.tracker import PoseTracker
from poselive.types import Detections, FramePacket, Poses


class IntervalDetectorStage:
    """Runs the wrapped detector on the frames the scheduler picks by index; passes the
    others on with ``detections = None`` for ``IntervalPoseStage`` to fill from poses.

    Sets ``packet.meta["detected"]``. It never waits for the pose stage: which frames are
    detector frames depends on their index alone.
    """

    def __init__(self, detector_stage: Any, scheduler: DetectionScheduler) -> None:
        self.detector = detector_stage
        self.scheduler = scheduler
        self.name = getattr(detector_stage, "name", "detector")

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Detect persons on a scheduled frame; mark the others for carried ROIs."""
        if self.scheduler.should_detect(packet.index):
            packet = self.detector(packet)
            packet.meta["detected"] = True
        else:
            packet.detections = None
            packet.meta["detected"] = False
        return packet

    def close(self) -> None:
        """Close the wrapped detector stage if it has a close()."""
        close = getattr(self.detector, "close", None)
        if close is not None:
            close()


class IntervalPoseStage:
    """The pose stage for detection every N frames: on a frame without detection it
    estimates the persons from the ROIs carried over from its own previous frame
    (``DetectionScheduler.carry``), then reports every frame's poses back
    (``observe``), which decides which ROIs live on.

    Everything happens in this stage's thread, in frame order, so the result does not
    depend on how far ahead the detector runs. Carried persons keep their detector score
    (``box_scores``); ``packet.detections`` is set to the ROIs used, so every later stage
    sees the boxes the poses came from.
    """

    def __init__(self, pose_stage: Any, scheduler: DetectionScheduler) -> None:
        self.pose = pose_stage
        self.scheduler = scheduler
        self.name = getattr(pose_stage, "name", "pose")
        self.keypoint_set = getattr(pose_stage, "keypoint_set", None)

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Estimate the packet's persons from detections and/or carried ROIs."""
        detected = packet.detections is not None
        if detected:
            d = packet.detections
            boxes, scores, parents = self.scheduler.merge(d.boxes, d.scores, packet.index, packet.pts)
            if len(boxes) > len(d):
                labels = np.concatenate([d.labels, np.zeros(len(boxes) - len(d), np.int64)])
                packet.detections = Detections(boxes, scores, labels)
        else:
            boxes, scores = self.scheduler.carry(packet.index, packet.pts)
            parents = np.arange(len(boxes))
            packet.detections = Detections(boxes, scores, np.zeros(len(boxes), np.int64))
            packet.meta["detected"] = False
        packet = self.pose(packet)
        poses = packet.poses
        if poses is None:
            return packet
        keep = self.scheduler.observe(packet.index, packet.pts, poses.keypoints, poses.scores,
                                      poses.box_scores, parents=parents, detected=detected)
        # A carried ROI whose pose lost confidence or landed on another person is gone:
        # drop its pose here too, so no frame shows a person twice or a ghost. Persons
        # the detector found this frame are all shown, as without the interval.
        show = np.union1d(np.flatnonzero(parents < 0), keep).astype(np.int64)
        if len(show) < len(poses):
            packet.poses = Poses(poses.keypoints[show], poses.scores[show], poses.boxes[show],
                                 poses.box_scores[show])
            packet.detections = packet.detections.select(show)
        return packet

    def close(self) -> None:
        """Close the wrapped pose stage if it has a close()."""
        close = getattr(self.pose, "close", None)
        if close is not None:
            close()


class TrackerStage:
    """Sets ``packet.poses.track_ids``, smooths confirmed tracks and keeps per-ID trails.

    ``tracker_kwargs`` go to ``PoseTracker``; ``smoothing`` is None (off) or a dict of
    ``KeypointSmoother`` arguments (``{}`` for the defaults: min_cutoff, beta, d_cutoff,
    score_threshold); ``trails`` > 0 keeps that many recent centres per ID and puts those
    of the IDs in the frame in ``packet.meta["trails"]`` ({id: [[x, y], ...]}, oldest
    first). ``track_boxes``: the boxes
    the tracker matches, ``"keypoints"`` (the confident keypoints' box enlarged 1.25x,
    consistent whether the frame was boxed by the detector or by ROIs) or ``"poses"``
    (``poses.boxes`` as given).
    """

    name = "tracker"

    def __init__(self, keypoint_set: str = "coco17", tracker_kwargs: dict | None = None,
                 smoothing: dict | None = None, trails: int = 0, track_boxes: str = "keypoints") -> None:
        if trails < 0:
            raise ConfigError(f"trails must be >= 0 (got {trails})")
        if track_boxes not in ("keypoints", "poses"):
            raise ConfigError(f"track_boxes must be 'keypoints' or 'poses' (got {track_boxes!r})")
        self.track_boxes = track_boxes
        try:
            self.tracker = PoseTracker(keypoint_set, **(tracker_kwargs or {}))
            self.smoother = KeypointSmoother(**smoothing) if smoothing is not None else None
        except TypeError as exc:
            raise ConfigError(f"bad tracker or smoothing option: {exc}") from exc
        self.num_keypoints = self.tracker.keypoint_set.num_keypoints
        self.kpt_threshold = self.tracker.keypoint_threshold
        self.trails = trails
        self._trails: dict[int, deque] = {}
        self._last_t: float | None = None

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Track the packet's poses (an empty frame still ages the tracks)."""
        poses = packet.poses if packet.poses is not None else Poses.empty(self.num_keypoints)
        t = float(packet.pts)
        if self._last_t is not None and t < self._last_t:
            # A looping or restarted source: start over rather than fail on time going back.
            self.tracker.reset()
            if self.smoother is not None:
                self.smoother.filters.clear()
            self._trails.clear()
        self._last_t = t
        if self.tracker.image_size is None and packet.image is not None and packet.image.ndim >= 2:
            self.tracker.image_size = (packet.width, packet.height)
        ids = self.tracker.update(self._boxes_for_tracking(poses), poses.box_scores,
                                  poses.keypoints, poses.scores, t)
        alive = set(self.tracker.tracks)
        if self.smoother is not None:
            self.smoother.forget(alive)
            if len(poses):
                poses.keypoints = self.smoother(ids, poses.keypoints, poses.scores, t)
        poses.track_ids = ids
        if packet.poses is not None:
            packet.poses = poses
        if self.trails:
            packet.meta["trails"] = self._update_trails(ids, poses, alive)
        return packet

    def _boxes_for_tracking(self, poses: Poses) -> np.ndarray:
        """Boxes the tracker sees: from the keypoints, so that they do not change in size
        between frames boxed by the detector and frames boxed from propagated ROIs."""
        if self.track_boxes == "poses" or len(poses) == 0:
            return poses.boxes
        good = poses.scores > self.kpt_threshold
        kb = keypoints_to_box_xyxy(poses.keypoints, poses.scores, self.kpt_threshold)
        c = (kb[:, :2] + kb[:, 2:]) / 2
        half = (kb[:, 2:] - kb[:, :2]) / 2 * 1.25
        kb = np.concatenate([c - half, c + half], 1)
        # Too few keypoints for a meaningful box: fall back to the box the pose came from.
        return np.where((good.sum(1) >= 4)[:, None], kb, poses.boxes).astype(np.float32)

    def _update_trails(self, ids: np.ndarray, poses: Poses, alive: set[int]) -> dict[int, list]:
        for tid in list(self._trails):
            if tid not in alive:
                del self._trails[tid]
        for i, tid in enumerate(ids):
            if tid < 0:
                continue
            vis = poses.scores[i] > 0.3
            # The centre of the confident keypoints; the box centre when there are none.
            p = poses.keypoints[i][vis].mean(0) if vis.any() else \
                (poses.boxes[i, :2] + poses.boxes[i, 2:]) / 2
            self._trails.setdefault(int(tid), deque(maxlen=self.trails)).append(
                [float(p[0]), float(p[1])])
        # Only the IDs in this frame: a lost track's trail would hang where it vanished.
        return {int(tid): [list(p) for p in self._trails[int(tid)]] for tid in ids if tid >= 0}
