"""poselive's own detector: ``boxes`` [B,N,4] xyxy (input px) + ``scores`` [B,N], NMS outside."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.geometry import input_to_image_boxes, letterbox, nms
from poselive.stages.adapters.base import (BatchRunner, Preprocess, engine_spec, output_names,
                                           pick_outputs)
from poselive.types import Detections


class RawDetector:
    """Letterbox -> engine -> threshold -> NMS (poselive.geometry) -> persons in image px."""

    name = "raw"
    default_input_size = (320, 320)

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for engines with ``boxes`` and ``scores`` outputs."""
        names = output_names(engine)
        return "boxes" in names and "scores" in names

    def __init__(self, engine: Any, score_threshold: float = 0.3, iou_threshold: float | None = None,
                 pre_nms_top_k: int = 300) -> None:
        spec = engine_spec(engine)
        self.engine = engine
        self.pre = Preprocess.from_engine(engine, self.default_input_size)
        self.pad_value = int(spec.get("pad_value", 114))
        self.centered = spec.get("letterbox", "topleft") == "center"
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(spec.get("nms_iou", 0.6) if iou_threshold is None else iou_threshold)
        self.nms_inside = spec.get("nms") == "inside"
        self.pre_nms_top_k = int(pre_nms_top_k)
        self.run = BatchRunner(engine, "detector")

    def detect(self, image: np.ndarray) -> Detections:
        """Person boxes in original-image pixels, best first."""
        padded, ratio, offset = letterbox(image, self.pre.input_size, self.pad_value, self.centered)
        out = self.run(self.pre.to_tensor(padded[None]))
        boxes, scores = pick_outputs(out, ("boxes", "scores"), self.engine)
        boxes, scores = boxes[0].reshape(-1, 4), scores[0].reshape(-1)
        keep = np.flatnonzero(scores >= self.score_threshold)
        # Cap the candidates so NMS stays cheap on a frame of low-confidence clutter.
        keep = keep[np.argsort(-scores[keep], kind="stable")[: self.pre_nms_top_k]]
        boxes, scores = boxes[keep], scores[keep]
        if not self.nms_inside and len(boxes):
            kept = nms(boxes, scores, self.iou_threshold)
            boxes, scores = boxes[kept], scores[kept]
        boxes = input_to_image_boxes(boxes, ratio, offset, (image.shape[1], image.shape[0]))
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return Detections(boxes[valid].astype(np.float32), scores[valid].astype(np.float32),
                          np.zeros(int(valid.sum()), np.int64))
