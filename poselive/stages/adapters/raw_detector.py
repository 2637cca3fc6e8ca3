"""poselive's own detector: ``boxes`` [B,N,4] xyxy (input px) + ``scores`` [B,N], NMS outside."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.geometry import nms
from poselive.stages.adapters.base import LetterboxDetector, output_names
from poselive.types import Detections


class RawDetector(LetterboxDetector):
    """Letterbox -> engine -> threshold -> NMS (poselive.geometry) -> persons in image px."""

    name = "raw"

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for engines with ``boxes`` and ``scores`` outputs."""
        names = output_names(engine)
        return "boxes" in names and "scores" in names

    def __init__(self, engine: Any, score_threshold: float = 0.3, iou_threshold: float | None = None,
                 pre_nms_top_k: int | None = None) -> None:
        super().__init__(engine, score_threshold)
        spec = self.spec
        self.iou_threshold = float(spec.get("nms_iou", 0.6) if iou_threshold is None else iou_threshold)
        self.nms_inside = spec.get("nms") == "inside"
        self.pre_nms_top_k = int(spec.get("pre_nms_top_k", 300) if pre_nms_top_k is None else pre_nms_top_k)
        # A spec may carry its model's own NMS settings (an imported RTMDet keeps its graph's):
        # boxes below nms_score_threshold are never candidates, and at most max_detections stay.
        self.score_threshold = max(self.score_threshold, float(spec.get("nms_score_threshold", 0.0)))
        self.max_detections = spec.get("max_detections")

    def detect(self, image: np.ndarray) -> Detections:
        """Person boxes in original-image pixels, best first."""
        (boxes, scores), ratio, offset = self._infer(image, ("boxes", "scores"))
        boxes, scores = boxes[0].reshape(-1, 4), scores[0].reshape(-1)
        keep = np.flatnonzero(scores >= self.score_threshold)
        # Cap the candidates so NMS stays cheap on a frame of low-confidence clutter.
        keep = keep[np.argsort(-scores[keep], kind="stable")[: self.pre_nms_top_k]]
        boxes, scores = boxes[keep], scores[keep]
        if not self.nms_inside and len(boxes):
            kept = nms(boxes, scores, self.iou_threshold)
            if self.max_detections:
                kept = kept[: int(self.max_detections)]
            boxes, scores = boxes[kept], scores[kept]
        boxes, valid = self._to_image(boxes, ratio, offset, image)
        return Detections(boxes[valid].astype(np.float32), scores[valid].astype(np.float32),
                          np.zeros(int(valid.sum()), np.int64))
