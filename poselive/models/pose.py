"""Top-down pose model: backbone + pose head on a person crop."""

from __future__ import annotations

import torch
from torch import nn


class TopDownPoseModel(nn.Module):
    """Crop batch [B,3,H,W] -> the head's outputs (``simcc_x``, ``simcc_y``) or ``heatmaps``."""

    task = "pose"

    def __init__(self, backbone: nn.Module, head: nn.Module, neck: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck if neck is not None else nn.Identity()
        self.head = head

    def forward(self, x: torch.Tensor):
        return self.head(self.neck(self.backbone(x)))
