"""Run the person detector every N frames; in between, take person boxes from the poses.

Between detector runs, each person's box for the next frame is the tight box of their
confident keypoints, enlarged ``box_scale`` times about its centre and moved by the
tracker's velocity of that person up to the next frame's time. On frames where the
detector runs, its boxes are merged with these propagated boxes: a propagated box is kept
only where no fresh detection overlaps it (IoU <= ``merge_iou``), so a person the detector
missed this once is not dropped.

Threads: the detector stage (``should_detect``, ``rois_for_next_frame``, ``merge``) and
the tracker stage (``observe``) call this object from different threads. All state is
behind one lock, and every method copies what it returns. The detector thread may decide
for frame i while the newest poses are from frame i-1 or i-2 (the pose and tracker
stages run behind it): the boxes are propagated from the time of their observation to
the time asked for, so one or two frames of lag cost accuracy, not correctness. Before
using ROIs for frame i, ``wait_for_poses(i, timeout)`` blocks until the poses of frame
``i - 1 - max_lag`` or later are in (they are downstream already, so this cannot
deadlock); if they do not come in time, the caller runs the detector instead. With no
poses at all (start, or nobody in view) the detector runs on every frame.
"""

from __future__ import annotations

import threading

import numpy as np

from poselive.errors import ConfigError
from poselive.geometry import box_iou, keypoints_to_box_xyxy
from poselive.keypoints import get_keypoint_set
from poselive.tracking.oks import oks_matrix


class DetectionScheduler:
    """Decides when to run the detector and provides person ROIs for the other frames."""

    def __init__(self, interval: int = 1, adaptive: bool = False, max_interval: int = 10,
                 box_scale: float = 1.25, keypoint_threshold: float = 0.3, min_keypoints: int = 4,
                 merge_iou: float = 0.5, max_lag: int = 2, frame_interval: float = 1 / 30,
                 min_pose_score: float = 0.2, duplicate_oks: float = 0.5,
                 keypoint_set: str = "coco17") -> None:
        if interval < 1 or max_interval < 1:
            raise ConfigError(f"detection interval must be >= 1 (got {interval}, max {max_interval})")
        self.max_interval = max(int(max_interval), int(interval))
        self.adaptive = adaptive
        self.box_scale = box_scale
        self.keypoint_threshold = keypoint_threshold
        self.min_keypoints = min_keypoints
        self.merge_iou = merge_iou
        self.max_lag = max_lag
        self.min_pose_score = min_pose_score
        self.duplicate_oks = duplicate_oks
        self.sigmas = get_keypoint_set(keypoint_set).sigmas_array()
        self._lock = threading.Lock()
        self._observed = threading.Condition(self._lock)
        self._min_interval = int(interval)
        self._interval = int(interval)
        self._last_detect: int | None = None
        self._obs_index: int | None = None
        self._obs_time = 0.0
        self._boxes = np.zeros((0, 4), np.float32)
        self._scores = np.zeros((0,), np.float32)
        self._velocity = np.zeros((0, 2), np.float32)
        self._frame_interval = frame_interval  # running estimate, used when no time is given
        self._behind = 0  # consecutive load reports that say "behind"
        self._ahead = 0

    @property
    def interval(self) -> int:
        """Current detection interval N (the detector runs on every N-th frame)."""
        with self._lock:
            return self._interval

    def should_detect(self, frame_index: int) -> bool:
        """Whether the detector must run on this frame (and, if so, records that it does)."""
        with self._lock:
            run = (self._interval <= 1 or self._last_detect is None
                   or frame_index - self._last_detect >= self._interval
                   or frame_index < self._last_detect  # the source restarted
                   or self._obs_index is None or len(self._boxes) == 0)
            if run:
                self._last_detect = frame_index
            return run

    def force_detect(self, frame_index: int) -> None:
        """Record that the detector ran on this frame after all (e.g. the poses were late)."""
        with self._lock:
            self._last_detect = frame_index

    def wait_for_poses(self, frame_index: int, timeout: float = 0.5) -> bool:
        """Block until poses at most ``max_lag`` frames older than the previous frame are in."""
        need = frame_index - 1 - self.max_lag
        with self._observed:
            return self._observed.wait_for(
                lambda: self._obs_index is not None and self._obs_index >= need, timeout)

    def observe(self, frame_index: int, t: float, keypoints: np.ndarray, keypoint_scores: np.ndarray,
                velocities: np.ndarray | None = None, box_scores: np.ndarray | None = None) -> None:
        """Record a frame's poses [N,K,2] / [N,K] and box-centre velocities [N,2] (px/s).

        A ROI's score is the pose's ``box_scores`` (the detector's score, carried along
        frames without detection) if given, else its mean keypoint score.
        """
        kpts = np.asarray(keypoints, np.float32)
        n = len(kpts)
        ks = np.asarray(keypoint_scores, np.float32).reshape(n, -1)
        vel = (np.zeros((n, 2), np.float32) if velocities is None
               else np.asarray(velocities, np.float32).reshape(n, 2))
        good = ks > self.keypoint_threshold
        # The mean over all keypoints, not only the good ones: a box around background
        # gets a few middling keypoints and must not keep itself alive.
        scores = ks.mean(1) if n else np.zeros(0, np.float32)
        keep = np.flatnonzero((good.sum(1) >= self.min_keypoints) & (scores >= self.min_pose_score))
        keep = self._suppress_duplicates(kpts, ks, scores, keep)
        boxes = keypoints_to_box_xyxy(kpts[keep], ks[keep], self.keypoint_threshold)
        c = (boxes[:, :2] + boxes[:, 2:]) / 2
        half = (boxes[:, 2:] - boxes[:, :2]) / 2 * self.box_scale
        boxes = np.concatenate([c - half, c + half], 1).astype(np.float32)
        if box_scores is not None:
            scores = np.asarray(box_scores, np.float32).reshape(n)
        scores, vel = scores[keep], vel[keep]
        with self._lock:
            if self._obs_index is not None and frame_index > self._obs_index and t > self._obs_time:
                # Running estimate of the source's frame interval, for calls without a time.
                step = (t - self._obs_time) / (frame_index - self._obs_index)
                self._frame_interval = 0.8 * self._frame_interval + 0.2 * step
            if self._obs_index is None or frame_index >= self._obs_index:
                self._obs_index, self._obs_time = int(frame_index), float(t)
                self._boxes, self._scores, self._velocity = boxes, scores.astype(np.float32), vel
            self._observed.notify_all()

    def _suppress_duplicates(self, kpts: np.ndarray, ks: np.ndarray, scores: np.ndarray,
                             idx: np.ndarray) -> np.ndarray:
        """Indices in ``idx`` left after dropping poses that repeat a better one (OKS/IoU).

        Two ROIs on one person (a propagated box beside a fresh detection) give two nearly
        identical skeletons; kept both, they would be carried on as two people.
        """
        if len(idx) < 2:
            return idx
        order = idx[np.argsort(-scores[idx], kind="stable")]
        boxes = keypoints_to_box_xyxy(kpts[order], ks[order], self.keypoint_threshold)
        wh = (boxes[:, 2:] - boxes[:, :2]).clip(1)
        oks, _ = oks_matrix(kpts[order], ks[order], kpts[order], ks[order], 0.53 * wh[:, 0] * wh[:, 1],
                            self.sigmas, self.keypoint_threshold, 1)
        iou = box_iou(boxes, boxes)
        kept: list[int] = []
        for i in range(len(order)):
            if all(oks[j, i] <= self.duplicate_oks and iou[j, i] <= 0.7 for j in kept):
                kept.append(i)
        return np.sort(order[kept])

    def rois_for_next_frame(self, frame_index: int | None = None,
                            t: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Propagated person boxes [M,4] and scores [M] for a frame (default: the next one)."""
        with self._lock:
            if self._obs_index is None:
                return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
            if t is None:
                steps = 1 if frame_index is None else max(frame_index - self._obs_index, 0)
                dt = steps * self._frame_interval
            else:
                dt = max(float(t) - self._obs_time, 0.0)
            shift = np.tile(self._velocity * dt, (1, 2))
            return (self._boxes + shift).astype(np.float32), self._scores.copy()

    def merge(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int | None = None,
              t: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fresh detections plus the propagated ROIs that no detection overlaps."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        rois, rscores = self.rois_for_next_frame(frame_index, t)
        if len(rois) == 0:
            return boxes, scores
        # A propagated box is 1.25x the keypoints' box, larger than the detector's: compare
        # it shrunk back so that the same person's two boxes overlap well.
        c = (rois[:, :2] + rois[:, 2:]) / 2
        half = (rois[:, 2:] - rois[:, :2]) / 2 / self.box_scale * 1.1
        tight = np.concatenate([c - half, c + half], 1)
        overlap = box_iou(tight, boxes).max(1) if len(boxes) else np.zeros(len(rois))
        keep = overlap <= self.merge_iou
        return (np.concatenate([boxes, rois[keep]]).astype(np.float32),
                np.concatenate([scores, rscores[keep]]).astype(np.float32))

    def report_load(self, dropped: int = 0, latency: float | None = None,
                    frame_interval: float | None = None) -> int:
        """Adapt N to the load of a live source; returns the (possibly new) interval.

        Call it periodically (e.g. once per frame or per second) with the frames the graph
        dropped since the last call and the end-to-end latency against the source's frame
        interval. Behind (drops, or latency > 2 frame intervals) for 3 reports in a row
        raises N by one; comfortably ahead (no drops, latency < 1 interval) for 30 reports
        lowers it by one, never below the interval the scheduler was made with.
        """
        with self._lock:
            if not self.adaptive:
                return self._interval
            fi = frame_interval or self._frame_interval
            behind = dropped > 0 or (latency is not None and latency > 2.0 * fi)
            ahead = dropped == 0 and (latency is None or latency < 1.0 * fi)
            if behind:
                self._behind += 1
                self._ahead = 0
            elif ahead:
                self._ahead += 1
                self._behind = 0
            else:
                self._behind = self._ahead = 0
            if self._behind >= 3 and self._interval < self.max_interval:
                self._interval += 1
                self._behind = 0
            elif self._ahead >= 30 and self._interval > self._min_interval:
                self._interval -= 1
                self._ahead = 0
            return self._interval
