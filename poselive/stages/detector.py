"""The detector stage: person boxes for each frame."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.stages.adapters import build_detector_adapter
from poselive.types import FramePacket


class DetectorStage:
    """Sets ``packet.detections`` (persons, best first, at most ``max_persons``)."""

    name = "detector"

    def __init__(self, engine: Any, adapter: Any = None, score_threshold: float = 0.3,
                 max_persons: int | None = 50) -> None:
        self.engine = engine
        self.adapter = build_detector_adapter(engine, adapter, score_threshold=score_threshold)
        self.score_threshold = float(score_threshold)
        self.max_persons = max_persons

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Detect persons in ``packet.image``."""
        dets = self.adapter.detect(packet.image)
        # Adapters already threshold; this also covers adapter instances built elsewhere.
        dets = dets.select(dets.scores >= self.score_threshold)
        if len(dets) > 1:
            dets = dets.select(np.argsort(-dets.scores, kind="stable"))
        if self.max_persons is not None and len(dets) > self.max_persons:
            dets = dets.select(np.arange(self.max_persons))
        packet.detections = dets
        return packet
