"""MoveNet-architecture models exported by poselive: ``input`` [B,3,S,S] -> the four raw head
maps (``center_heatmap``, ``keypoint_heatmaps``, ``keypoint_regression``, ``keypoint_offsets``),
decoded by the ``movenet`` codec on the host, so every backend gives the same keypoints."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.codecs import build_codec
from poselive.codecs.movenet import OUTPUTS
from poselive.stages.adapters.base import BatchRunner, Preprocess, engine_spec, output_names, pick_outputs
from poselive.stages.adapters.simcc_pose import TopDownCrops


class MoveNetMapsPose:
    """All persons of a frame in one engine call: square crops (``box_padding`` from the spec)."""

    name = "movenet_maps"
    default_input_size = (192, 192)

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for engines with MoveNet's head maps as outputs (or a ``movenet`` codec in the spec)."""
        codec = engine_spec(engine).get("codec") or {}
        return codec.get("type") == "movenet" or "center_heatmap" in output_names(engine)

    def __init__(self, engine: Any, padding: float | None = None) -> None:
        spec = engine_spec(engine)
        self.engine = engine
        self.pre = Preprocess.from_engine(engine, self.default_input_size)
        w, h = self.pre.input_size
        codec = dict(spec.get("codec") or {"type": "movenet"})
        codec.update(type="movenet", input_size=[w, h], heatmap_size=[w // 4, h // 4])
        self.codec = build_codec(codec)
        # The crop is square (fix_aspect_ratio to w/h = 1): MoveNet expects undistorted persons.
        self.topdown = TopDownCrops(self.pre, spec.get("box_padding", 1.25) if padding is None else padding)
        self.run = BatchRunner(engine, "pose (movenet maps)")

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints [N,17,2] in original-image px and scores [N,17] for person boxes [N,4]."""
        tensor, centers, scales = self.topdown.crops(image, boxes)
        maps = pick_outputs(self.run(tensor), OUTPUTS, self.engine)
        kpts, scores = self.codec.decode(*maps)
        return (self.topdown.to_image(kpts, centers, scales).astype(np.float32),
                np.clip(scores, 0.0, 1.0).astype(np.float32))
