"""Google's MoveNet SinglePose: ``input:0`` int32 [1,S,S,3] RGB 0-255 -> ``Identity:0``
[1,1,17,3] = (y, x, score) normalised to the square crop."""

from __future__ import annotations

from typing import Any

import numpy as np

from poselive.geometry import box_xyxy_to_center_scale, crop_batch, input_to_image_points_batch
from poselive.stages.adapters.base import BatchRunner, Preprocess, fixed_dim


class MoveNetPose:
    """Square crop about each person box (zero padded); one engine call per person."""

    name = "movenet"
    default_input_size = (192, 192)  # Lightning; Thunder's 256 is read from the input shape

    @classmethod
    def matches(cls, engine: Any) -> bool:
        """True for an NHWC image input and a single [B,1,K,3] output."""
        inp = engine.inputs[0]
        outs = engine.outputs
        return (len(inp.shape) == 4 and fixed_dim(inp.shape[-1]) == 3 and fixed_dim(inp.shape[1]) != 3
                and len(outs) == 1 and len(outs[0].shape) == 4 and fixed_dim(outs[0].shape[-1]) == 3)

    def __init__(self, engine: Any, padding: float = 1.25) -> None:
        self.engine = engine
        self.pre = Preprocess.from_engine(engine, self.default_input_size)
        self.padding = float(padding)
        self.output_name = engine.outputs[0].name
        self.run = BatchRunner(engine, "pose (movenet)")

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints [N,17,2] in original-image px and scores [N,17] for person boxes [N,4]."""
        size = self.pre.input_size
        centers, scales = box_xyxy_to_center_scale(boxes, self.padding)
        side = scales.max(axis=1, keepdims=True)
        squares = np.repeat(side, 2, axis=1)  # the model expects an undistorted square crop
        out = self.run(self.pre.to_tensor(crop_batch(image, centers, squares, size)))
        yxs = out[self.output_name].reshape(len(boxes), -1, 3)
        pts = np.stack([yxs[..., 1] * size[0], yxs[..., 0] * size[1]], axis=-1)
        kpts = input_to_image_points_batch(pts, centers, squares, size)
        return kpts.astype(np.float32), yxs[..., 2].astype(np.float32)
