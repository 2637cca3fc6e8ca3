"""Run the person detector every N frames; in between, carry each person's box from their pose.

Who decides what, and in which thread:

- the **detector stage** asks ``should_detect(index)``. The answer depends on the frame
  index only (every N-th frame counted from the last detector frame, or N from the
  adaptive interval), never on what the pose stage has done, so the detector never waits
  for poses and runs ahead of them freely;
- the **pose stage**, on a frame without detection, takes ``carry(index, t)``: one ROI per
  person it estimated on the previous frame it saw, the box of that person's confident
  keypoints enlarged ``box_scale`` times and moved by the person's velocity; after
  estimating, it reports the poses with ``observe``. Both calls come from the pose
  thread, in frame order, so on a file (lossless edges) the ROIs of frame *i* are always
  those of frame *i - 1*: the output is deterministic.

On a detector frame the detections alone decide who is there (carried ROIs are not
merged in: merging kept every ROI that no detection overlapped, and the persons piled
up). A carried ROI dies when its pose confidence falls (fewer than ``min_keypoints``
keypoints above ``keypoint_threshold``, or a mean keypoint score under
``min_pose_score``) or when it overlaps another person's pose (keypoint OKS above
``duplicate_oks`` or keypoint-box IoU above ``duplicate_iou``; the better-scored one
stays). Between detector frames persons can therefore leave but not appear: a newcomer
is found at the next detector frame.
"""

from __future__ import annotations

import threading

import numpy as np

from poselive.errors import ConfigError
from poselive.geometry import box_iou, keypoints_to_box_xyxy
from poselive.keypoints import get_keypoint_set
from poselive.tracking.oks import oks_matrix


class DetectionScheduler:
    """Decides on which frames the detector runs and carries person ROIs on the others."""

    def __init__(self, interval: int = 1, adaptive: bool = False, max_interval: int = 10,
                 box_scale: float = 1.4, keypoint_threshold: float = 0.3, min_keypoints: int = 4,
                 frame_interval: float = 1 / 30, min_pose_score: float = 0.2,
                 duplicate_oks: float = 0.8, duplicate_iou: float = 0.9, velocity_smoothing: float = 0.5,
                 merge_iou: float = 0.3, max_missed: int = 1, keypoint_set: str = "coco17") -> None:
        if interval < 1 or max_interval < 1:
            raise ConfigError(f"detection interval must be >= 1 (got {interval}, max {max_interval})")
        self.max_interval = max(int(max_interval), int(interval))
        self.adaptive = adaptive
        self.box_scale = box_scale
        self.keypoint_threshold = keypoint_threshold
        self.min_keypoints = min_keypoints
        self.min_pose_score = min_pose_score
        self.duplicate_oks = duplicate_oks
        self.duplicate_iou = duplicate_iou
        self.velocity_smoothing = velocity_smoothing
        self.merge_iou = merge_iou
        self.max_missed = int(max_missed)
        self.sigmas = get_keypoint_set(keypoint_set).sigmas_array()
        self._lock = threading.Lock()
        self._min_interval = int(interval)
        self._interval = int(interval)
        self._last_detect: int | None = None
        # What the pose stage saw last: its frame, time, carried boxes, scores, velocities.
        self._obs_index: int | None = None
        self._obs_time = 0.0
        self._boxes = np.zeros((0, 4), np.float32)
        self._scores = np.zeros((0,), np.float32)
        self._velocity = np.zeros((0, 2), np.float32)
        self._missed = np.zeros((0,), np.int64)  # detector frames in a row that missed each ROI
        self._frame_interval = frame_interval  # running estimate, used when no time is given
        self.carried_dropped = 0  # carried ROIs that died (low confidence or overlap), in total
        self._behind = 0  # consecutive load reports that say "behind"
        self._ahead = 0

    @property
    def interval(self) -> int:
        """Current detection interval N (the detector runs on every N-th frame)."""
        with self._lock:
            return self._interval

    # -- the detector thread ----------------------------------------------------------
    def should_detect(self, frame_index: int) -> bool:
        """Whether the detector runs on this frame (and, if so, records that it does).

        Decided by the index alone: the first frame, every ``interval`` frames after the
        last detector frame, and the first frame after the index went back (a restart)."""
        with self._lock:
            last = self._last_detect
            run = (self._interval <= 1 or last is None or frame_index - last >= self._interval
                   or frame_index < last)
            if run:
                self._last_detect = frame_index
            return run

    # -- the pose thread -----------------------------------------------------------------
    def carry(self, frame_index: int | None = None, t: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """ROIs [M,4] and their scores [M] for a frame without detection: the persons of the
        last observed frame, moved by their velocity to time ``t`` (or by frame steps)."""
        with self._lock:
            if self._obs_index is None or len(self._boxes) == 0:
                return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
            if t is None:
                steps = 1 if frame_index is None else max(frame_index - self._obs_index, 0)
                dt = steps * self._frame_interval
            else:
                dt = max(float(t) - self._obs_time, 0.0)
            shift = np.tile(self._velocity * dt, (1, 2))
            return (self._boxes + shift).astype(np.float32), self._scores.copy()

    def merge(self, boxes: np.ndarray, scores: np.ndarray, frame_index: int | None = None,
              t: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A detector frame's boxes: the detections, plus the carried ROIs that no detection
        overlaps and that have not been missed by the detector ``max_missed`` times in a
        row already (a person the detector misses once keeps their pose; one it keeps
        missing goes). Returns boxes, scores and ``parents`` (-1 for a detection, else the
        index of the carried ROI), for ``observe``."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        rois, rscores = self.carry(frame_index, t)
        parents = np.full(len(boxes), -1, np.int64)
        with self._lock:
            missed = self._missed.copy() if len(self._missed) == len(rois) else np.zeros(len(rois), np.int64)
        if len(rois) == 0 or self.max_missed <= 0:
            return boxes, scores, parents
        # A carried ROI is the keypoints' box enlarged box_scale times, larger than the
        # detector's: compare it shrunk back so that one person's two boxes overlap well.
        c = (rois[:, :2] + rois[:, 2:]) / 2
        half = (rois[:, 2:] - rois[:, :2]) / 2 / self.box_scale * 1.1
        tight = np.concatenate([c - half, c + half], 1)
        overlap = box_iou(tight, boxes).max(1) if len(boxes) else np.zeros(len(rois))
        extra = np.flatnonzero((overlap <= self.merge_iou) & (missed < self.max_missed))
        return (np.concatenate([boxes, rois[extra]]).astype(np.float32),
                np.concatenate([scores, rscores[extra]]).astype(np.float32),
                np.concatenate([parents, extra]))

    def observe(self, frame_index: int, t: float, keypoints: np.ndarray, keypoint_scores: np.ndarray,
                box_scores: np.ndarray | None = None, parents: np.ndarray | None = None,
                detected: bool = True) -> np.ndarray:
        """Record the poses [N,K,2] / [N,K] the pose stage estimated on a frame; returns the
        indices of the poses that live on as ROIs.

        ``parents`` [N]: for each pose, the index of the carried ROI (``carry``/``merge``)
        it was estimated in, or -1 for a fresh detection (the default: all fresh). A
        carried pose's velocity is measured against its ROI; a fresh one is matched to the
        previous persons by box overlap. ``detected``: this was a detector frame (carried
        ROIs on it were missed by the detector). A ROI's score is ``box_scores`` (the
        detector's score, carried along) if given, else the pose's mean keypoint score.
        """
        kpts = np.asarray(keypoints, np.float32)
        n = len(kpts)
        ks = np.asarray(keypoint_scores, np.float32).reshape(n, -1)
        parents = np.full(n, -1, np.int64) if parents is None else np.asarray(parents, np.int64).reshape(n)
        good = ks > self.keypoint_threshold
        # The mean over all keypoints, not only the good ones: a box around background
        # gets a few middling keypoints and must not keep itself alive.
        conf = ks.mean(1) if n else np.zeros(0, np.float32)
        keep = np.flatnonzero((good.sum(1) >= self.min_keypoints) & (conf >= self.min_pose_score))
        # Fresh detections first, then by score: a carried ROI gives way to a detection.
        priority = conf + (parents < 0) * 10.0
        keep = self._suppress_overlaps(kpts, ks, priority, keep)
        tight = keypoints_to_box_xyxy(kpts[keep], ks[keep], self.keypoint_threshold)
        c = (tight[:, :2] + tight[:, 2:]) / 2
        half = (tight[:, 2:] - tight[:, :2]) / 2 * self.box_scale
        boxes = np.concatenate([c - half, c + half], 1).astype(np.float32)
        scores = (conf if box_scores is None else np.asarray(box_scores, np.float32).reshape(n))[keep]
        with self._lock:
            dt = float(t) - self._obs_time if self._obs_index is not None else 0.0
            if self._obs_index is not None and frame_index > self._obs_index and dt > 0:
                # Running estimate of the source's frame interval, for calls without a time.
                step = dt / (frame_index - self._obs_index)
                self._frame_interval = 0.8 * self._frame_interval + 0.2 * step
            velocity = self._velocities(boxes, parents[keep], dt)
            old_missed = self._missed if len(self._missed) == len(self._boxes) else np.zeros(len(self._boxes), np.int64)
            kp = parents[keep]
            missed = np.zeros(len(keep), np.int64)
            inherited = (kp >= 0) & (kp < len(old_missed))
            missed[inherited] = old_missed[kp[inherited]] + (1 if detected else 0)
            self.carried_dropped += int((parents >= 0).sum()) - int((kp >= 0).sum())
            self._obs_index, self._obs_time = int(frame_index), float(t)
            self._boxes, self._scores, self._velocity = boxes, scores.astype(np.float32), velocity
            self._missed = missed
        return keep

    def _velocities(self, boxes: np.ndarray, parents: np.ndarray, dt: float) -> np.ndarray:
        """Box-centre velocities [M,2] in px/s of the new ROIs (lock held)."""
        vel = np.zeros((len(boxes), 2), np.float32)
        if dt <= 0 or len(boxes) == 0 or len(self._boxes) == 0:
            return vel
        old_c = (self._boxes[:, :2] + self._boxes[:, 2:]) / 2
        new_c = (boxes[:, :2] + boxes[:, 2:]) / 2
        parent = parents.copy()
        fresh = np.flatnonzero(parent < 0)
        if len(fresh):
            # Fresh detections: the previous person each one overlaps most, if well enough.
            iou = box_iou(boxes[fresh], self._boxes)
            best = iou.argmax(1)
            parent[fresh] = np.where(iou[np.arange(len(fresh)), best] > 0.3, best, -1)
        a = self.velocity_smoothing
        for j in np.flatnonzero((parent >= 0) & (parent < len(self._boxes))):
            p = parent[j]
            measured = (new_c[j] - old_c[p]) / dt
            vel[j] = a * self._velocity[p] + (1 - a) * measured
        return vel

    def _suppress_overlaps(self, kpts: np.ndarray, ks: np.ndarray, scores: np.ndarray,
                           idx: np.ndarray) -> np.ndarray:
        """Indices in ``idx`` left after dropping poses that overlap a better one (OKS/IoU).

        Two ROIs that drifted onto one person give two nearly identical skeletons; carried
        on, they would count that person twice."""
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
            if all(oks[j, i] <= self.duplicate_oks and iou[j, i] <= self.duplicate_iou for j in kept):
                kept.append(i)
        return np.sort(order[kept])

    # -- load (live sources) ---------------------------------------------------------------
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
