"""A tiny real torch pose model with a spec, for the build/TensorRT tests (not a test file).

Loaded by path (tests run with --import-mode=importlib): ``load_helper()`` in the tests.
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SIZE = (32, 48)  # (w, h): small so export and parity runs take well under a second
K = 17
SPLIT = 2.0


def tiny_spec(name: str = "tiny-pose") -> dict:
    """A pose spec in the shared contract's shape."""
    w, h = INPUT_SIZE
    return {"task": "pose", "name": name, "arch": {"type": "tiny-test"}, "keypoint_set": "coco17",
            "input_size": [w, h], "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
            "channel_order": "rgb", "input_format": "float_nchw",
            "codec": {"type": "simcc", "input_size": [w, h], "split_ratio": SPLIT},
            "box_padding": 1.25, "outputs": ["simcc_x", "simcc_y"]}


class TinySimCC(nn.Module):
    """Conv stem + two linear SimCC heads, like RTMPose in miniature."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        w, h = INPUT_SIZE
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, K, 3, 2, 1))
        feat = (h // 4) * (w // 4)
        self.hx = nn.Linear(feat, int(w * SPLIT))
        self.hy = nn.Linear(feat, int(h * SPLIT))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.stem(x).flatten(2)
        return self.hx(f), self.hy(f)


class DataDependent(TinySimCC):
    """Export-unsafe: a Python float taken from the data is frozen into the graph at export."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sx, sy = super().forward(x)
        offset = float(x.detach().mean())  # tracing records the export input's value
        return sx + offset, sy


DET_SIZE = (64, 64)


def tiny_det_spec() -> dict:
    """A detector spec (NMS outside: boxes + scores)."""
    return {"task": "detector", "name": "tiny-det", "arch": {"type": "tiny-test"},
            "input_size": list(DET_SIZE), "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
            "channel_order": "rgb", "input_format": "float_nchw", "outputs": ["boxes", "scores"],
            "pad_value": 114, "letterbox": "topleft", "nms": "outside"}


class TinyDetector(nn.Module):
    """Per-cell boxes in input pixels and sigmoid person scores, like a one-class anchor-free head."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 4, 1), nn.ReLU(), nn.Conv2d(8, 5, 3, 2, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.body(x).flatten(2).transpose(1, 2)  # [B, N, 5]
        boxes = torch.sigmoid(out[..., :4]) * DET_SIZE[0]  # input pixels (large magnitudes)
        return boxes, torch.sigmoid(out[..., 4])
