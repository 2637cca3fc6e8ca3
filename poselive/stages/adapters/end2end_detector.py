"""Detectors with NMS inside the graph (RTMDet exported by MMDeploy "end2end", or a
poselive detector whose spec says ``"nms": "inside"``): ``dets`` [B,N,5] + ``labels`` [B,N]."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.stages.adapters.base import LetterboxDetector, engine_spec, output_names
from poselive.types import Detections


class End2EndDetector(LetterboxDetector):
    """Letterbox -> engine -> (x1, y1, x2, y2, score) per detection -> persons in image px."""

    name = "end2end"
    default_input_size = (320, 320)  # the teacher's input is dynamic; 320 is its training size

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for engines with a ``dets`` output (``labels`` beside it)."""
        return "dets" in output_names(engine) or "dets" in (engine_spec(engine).get("outputs") or ())

    def __init__(self, engine: Any, score_threshold: float = 0.3, person_label: int | None = None) -> None:
        super().__init__(engine, score_threshold)
        self.person_label = int(self.spec.get("person_label", 0) if person_label is None else person_label)

    def detect(self, image: np.ndarray) -> Detections:
        """Person boxes in original-image pixels, best first."""
        (dets, labels), ratio, offset = self._infer(image, ("dets", "labels"))
        dets, labels = dets[0], labels[0].astype(np.int64)
        keep = (labels == self.person_label) & (dets[:, 4] >= self.score_threshold)
        dets, labels = dets[keep], labels[keep]
        boxes, valid = self._to_image(dets[:, :4], ratio, offset, image)
        order = np.argsort(-dets[valid, 4], kind="stable")
        return Detections(boxes[valid][order].astype(np.float32),
                          dets[valid, 4][order].astype(np.float32), labels[valid][order])
