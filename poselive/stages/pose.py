"""The top-down pose stage: keypoints of every detected (or tracked) person."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.errors import ConfigError
from poselive.keypoints import KeypointSet, get_keypoint_set
from poselive.stages.adapters import build_pose_adapter, engine_spec
from poselive.types import Detections, FramePacket, Poses


def _rois(packet: FramePacket) -> tuple[np.ndarray, np.ndarray]:
    """Boxes [N,4] and box scores [N] to estimate: ``meta["rois"]`` first, else detections.

    ``meta["rois"]`` (set by detection-interval tracking on frames without detection) may
    be a ``Detections`` or a plain [N,4] array; ``meta["roi_scores"]`` gives scores for
    the latter (ones when absent).
    """
    rois = packet.meta.get("rois")
    if isinstance(rois, Detections):
        return rois.boxes, rois.scores
    if rois is not None:
        boxes = np.asarray(rois, np.float32).reshape(-1, 4)
        scores = packet.meta.get("roi_scores")
        scores = np.ones(len(boxes), np.float32) if scores is None else np.asarray(scores, np.float32)
        return boxes, scores
    if packet.detections is None:
        raise ConfigError("the pose stage got a frame with neither detections nor meta['rois']; "
                          "put a detector stage (or a tracker giving ROIs) before it")
    return packet.detections.boxes, packet.detections.scores


class PoseStage:
    """Sets ``packet.poses`` from the person boxes, all persons in one batch."""

    name = "pose"

    def __init__(self, engine: Any, adapter: Any = None, keypoint_set: KeypointSet | str | None = None,
                 workers: int = 1) -> None:
        self.engine = engine
        # workers > 1: a frame's crops are split into that many engine calls run at once
        # (for an engine that takes concurrent calls, e.g. one-thread ONNX Runtime
        # sessions: one core per call, where intra-op threads gain little on small models).
        self.workers = max(1, int(workers))
        self._pool: Any = None
        self.adapter = build_pose_adapter(engine, adapter)
        if keypoint_set is None:
            keypoint_set = engine_spec(engine).get("keypoint_set", "coco17")
        self.keypoint_set = get_keypoint_set(keypoint_set) if isinstance(keypoint_set, str) else keypoint_set

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Estimate keypoints for the packet's person boxes."""
        boxes, box_scores = _rois(packet)
        k = self.keypoint_set.num_keypoints
        if len(boxes) == 0:
            packet.poses = Poses.empty(k)
            return packet
        kpts, scores = self._estimate(packet.image, np.asarray(boxes, np.float32))
        if kpts.shape[1] != k:
            raise ConfigError(f"the pose model gives {kpts.shape[1]} keypoints but the keypoint set "
                              f"'{self.keypoint_set.name}' has {k}; pass the matching keypoint_set")
        # A joint outside the frame was not observed: keep outputs inside the image so every
        # consumer (sinks, tracker, renderer) can rely on it.
        kpts = np.asarray(kpts, np.float32)
        np.clip(kpts[..., 0], 0, packet.width - 1, out=kpts[..., 0])
        np.clip(kpts[..., 1], 0, packet.height - 1, out=kpts[..., 1])
        # Scores are probabilities for every consumer; some models overshoot 1 slightly.
        scores = np.clip(np.asarray(scores, np.float32), 0.0, 1.0)
        packet.poses = Poses(kpts, scores,
                             np.asarray(boxes, np.float32).copy(), np.asarray(box_scores, np.float32).copy())
        return packet

    def _estimate(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The adapter's keypoints and scores, the crops split over ``workers`` calls."""
        n = min(self.workers, len(boxes))
        if n < 2:
            return self.adapter.estimate(image, boxes)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix="pose-worker")
        chunks = np.array_split(np.arange(len(boxes)), n)  # by position: the same on every run
        futures = [self._pool.submit(self.adapter.estimate, image, boxes[c]) for c in chunks[1:]]
        parts = [self.adapter.estimate(image, boxes[chunks[0]])] + [f.result() for f in futures]
        return (np.concatenate([np.asarray(k, np.float32) for k, _ in parts]),
                np.concatenate([np.asarray(s, np.float32) for _, s in parts]))

    def close(self) -> None:
        """Stop the worker threads, if any."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
