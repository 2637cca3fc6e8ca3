"""The one packet type that flows through the graph, and the arrays it carries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def empty_boxes() -> np.ndarray:
    """An empty float32 [0, 4] box array."""
    return np.zeros((0, 4), np.float32)


@dataclass
class Detections:
    """Person boxes in original-image pixels (xyxy), their scores and class labels."""

    boxes: np.ndarray = field(default_factory=empty_boxes)  # [N, 4] float32 xyxy
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))  # [N]
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))  # [N]

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def select(self, keep: np.ndarray) -> "Detections":
        """Detections at the given indices or boolean mask."""
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])


@dataclass
class Poses:
    """Keypoints of N persons in original-image pixels, with the boxes they came from."""

    keypoints: np.ndarray  # [N, K, 2] float32
    scores: np.ndarray  # [N, K] float32
    boxes: np.ndarray  # [N, 4] float32 xyxy
    box_scores: np.ndarray  # [N] float32
    track_ids: np.ndarray | None = None  # [N] int64, -1 where not yet confirmed

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @staticmethod
    def empty(num_keypoints: int) -> "Poses":
        """Poses of no person for a keypoint set with num_keypoints points."""
        return Poses(
            np.zeros((0, num_keypoints, 2), np.float32),
            np.zeros((0, num_keypoints), np.float32),
            empty_boxes(),
            np.zeros((0,), np.float32),
        )


@dataclass
class FramePacket:
    """One frame and everything the stages have learned about it so far.

    ``index`` counts frames from 0 in source order; ``pts`` is the source timestamp in
    seconds (exact for files); ``capture_time`` is ``time.perf_counter()`` when the frame
    was read, used for end-to-end latency. ``image`` is BGR uint8 [H, W, 3].
    """

    index: int
    pts: float
    image: np.ndarray
    capture_time: float = field(default_factory=time.perf_counter)
    detections: Detections | None = None
    poses: Poses | None = None
    rendered: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)  # stage name -> seconds
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
