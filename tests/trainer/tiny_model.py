"""A tiny SimCC pose model without BatchNorm or dropout, for fast deterministic tests
(DDP equivalence needs a model whose forward does not depend on the batch split)."""

from __future__ import annotations

import torch


class TinySimCC(torch.nn.Module):
    """Two strided convs, a 1x1 conv to K maps, and linear SimCC heads for x and y."""

    def __init__(self, num_keypoints: int = 17, input_size=(32, 48), split_ratio: float = 2.0) -> None:
        super().__init__()
        w, h = input_size
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, 2, 1), torch.nn.GELU(),
            torch.nn.Conv2d(16, 32, 3, 2, 1), torch.nn.GroupNorm(4, 32), torch.nn.GELU(),
            torch.nn.Conv2d(32, num_keypoints, 1))
        cells = (w // 4) * (h // 4)
        self.fx = torch.nn.Linear(cells, int(w * split_ratio))
        self.fy = torch.nn.Linear(cells, int(h * split_ratio))

    def forward(self, x: torch.Tensor):
        f = self.body(x).flatten(2)
        return self.fx(f), self.fy(f)


def tiny_spec(input_size=(32, 48), keypoint_set: str = "coco17") -> dict:
    """A model spec matching TinySimCC."""
    return {"task": "pose", "name": "tiny-simcc", "arch": {"type": "tiny-test"}, "keypoint_set": keypoint_set,
            "input_size": list(input_size), "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
            "channel_order": "rgb", "input_format": "float_nchw",
            "codec": {"type": "simcc", "input_size": list(input_size), "split_ratio": 2.0, "sigma": [2.0, 2.0]},
            "box_padding": 1.25, "outputs": ["simcc_x", "simcc_y"]}
