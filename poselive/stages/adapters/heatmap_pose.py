"""Top-down pose with heatmap outputs: ``input`` [B,3,H,W] -> ``heatmaps`` [B,K,h,w]."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.codecs import build_codec
from poselive.errors import ConfigError
from poselive.stages.adapters.base import (BatchRunner, Preprocess, engine_spec, output_names,
                                           pick_outputs, uses_udp)
from poselive.stages.adapters.simcc_pose import TopDownCrops


class HeatmapPose:
    """All persons of a frame in one engine call, decoded with the spec's heatmap codec."""

    name = "heatmap"
    default_input_size = (192, 256)

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for engines with a ``heatmaps`` output."""
        return "heatmaps" in output_names(engine)

    def __init__(self, engine: Any, padding: float | None = None) -> None:
        spec = engine_spec(engine)
        self.engine = engine
        self.pre = Preprocess.from_engine(engine, self.default_input_size)
        codec_spec = spec.get("codec")
        if not codec_spec:
            raise ConfigError("a heatmap model needs a 'codec' in its spec to be decoded "
                              "(e.g. {'type': 'msra', ...}); export it with poselive so the spec is embedded")
        self.codec = build_codec(codec_spec)
        udp = uses_udp(spec)
        self.topdown = TopDownCrops(self.pre, spec.get("box_padding", 1.25) if padding is None else padding,
                                    udp=udp)
        self.run = BatchRunner(engine, "pose")

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints [N,K,2] in original-image px and scores [N,K] for person boxes [N,4]."""
        tensor, centers, scales = self.topdown.crops(image, boxes)
        out = self.run(tensor)
        (heatmaps,) = pick_outputs(out, ("heatmaps",), self.engine)
        kpts, scores = self.codec.decode(heatmaps)
        return (self.topdown.to_image(np.asarray(kpts, np.float32), centers, scales).astype(np.float32),
                np.asarray(scores, np.float32))
