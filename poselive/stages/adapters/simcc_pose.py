"""RTMPose-style top-down pose: ``input`` [B,3,H,W] -> ``simcc_x`` [B,K,W*r], ``simcc_y`` [B,K,H*r]."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.codecs import build_codec
from poselive.codecs.simcc import SimCCCodec
from poselive.geometry import (box_xyxy_to_center_scale, crop_batch, fix_aspect_ratio,
                               input_to_image_points_batch)
from poselive.stages.adapters.base import (BatchRunner, Preprocess, engine_spec, output_names,
                                           pick_outputs, uses_udp)


class TopDownCrops:
    """Person boxes -> one batch of affine crops at the model's input size, and back."""

    def __init__(self, pre: Preprocess, padding: float, udp: bool = False) -> None:
        self.pre = pre
        self.padding = float(padding)
        self.udp = bool(udp)

    def crops(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input tensor [N,...] for all boxes, with the crops' centres and scales [N,2]."""
        w, h = self.pre.input_size
        centers, scales = box_xyxy_to_center_scale(boxes, self.padding)
        scales = fix_aspect_ratio(scales, w / h)  # keep the person's proportions in the crop
        batch = crop_batch(image, centers, scales, self.pre.input_size, udp=self.udp)
        return self.pre.to_tensor(batch), centers, scales

    def to_image(self, points: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Points [N,K,2] in model-input px -> original-image px."""
        return input_to_image_points_batch(points, centers, scales, self.pre.input_size, udp=self.udp)


class SimCCPose:
    """All persons of a frame in one engine call, decoded with the SimCC codec."""

    name = "simcc"
    default_input_size = (192, 256)

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for engines with ``simcc_x``/``simcc_y`` outputs (or a spec codec of type simcc)."""
        names = output_names(engine)
        codec = engine_spec(engine).get("codec") or {}
        return ("simcc_x" in names and "simcc_y" in names) or codec.get("type") == "simcc"

    def __init__(self, engine: Any, padding: float | None = None) -> None:
        spec = engine_spec(engine)
        self.engine = engine
        self.pre = Preprocess.from_engine(engine, self.default_input_size)
        self.topdown = TopDownCrops(self.pre, spec.get("box_padding", 1.25) if padding is None else padding,
                                    udp=uses_udp(spec))
        self.codec = build_codec(spec["codec"]) if spec.get("codec") else None
        self.run = BatchRunner(engine, "pose")

    def _codec_for(self, simcc_x: np.ndarray) -> SimCCCodec:
        # Without a spec (external RTMPose files) the split ratio is read off the output
        # width, which is input width * ratio; RTMPose's is 2.0.
        if self.codec is None:
            ratio = simcc_x.shape[-1] / self.pre.input_size[0]
            self.codec = SimCCCodec(input_size=self.pre.input_size, split_ratio=ratio)
        return self.codec

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints [N,K,2] in original-image px and scores [N,K] for person boxes [N,4]."""
        tensor, centers, scales = self.topdown.crops(image, boxes)
        out = self.run(tensor)
        sx, sy = pick_outputs(out, ("simcc_x", "simcc_y"), self.engine)
        kpts, scores = self._codec_for(sx).decode(sx, sy)
        return self.topdown.to_image(kpts, centers, scales).astype(np.float32), scores.astype(np.float32)
