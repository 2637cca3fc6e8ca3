"""CenterNet-style single-person heads (MoveNet): person centre, keypoint heatmaps,
regression from the centre, and sub-pixel offsets, each a small separable-conv branch."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from poselive.models.backbones.mobilenetv2 import SameConv2d

# Output order of the head (and of the exported graph).
OUTPUTS = ("center_heatmap", "keypoint_heatmaps", "keypoint_regression", "keypoint_offsets")


class Branch(nn.Module):
    """3 x 3 depthwise -> 1 x 1 (ReLU) -> 1 x 1 to ``cout`` maps."""

    def __init__(self, cin: int, hidden: int, cout: int) -> None:
        super().__init__()
        self.dw = SameConv2d(cin, cin, 3, groups=cin, bias=False)
        self.pw = SameConv2d(cin, hidden, 1)
        self.out = SameConv2d(hidden, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.pw(self.dw(x))))


class CenterNetHead(nn.Module):
    """Feature map [B,C,h,w] -> (centre [B,1,h,w] in [0,1], heatmaps [B,K,h,w] in [0,1],
    regression [B,2K,h,w], offsets [B,2K,h,w]); the 2K channels are (dy, dx) per keypoint
    in output-grid cells."""

    def __init__(self, in_channels: int, num_keypoints: int = 17, hidden: int = 96) -> None:
        super().__init__()
        k = int(num_keypoints)
        self.center = Branch(in_channels, hidden, 1)
        self.heatmap = Branch(in_channels, hidden, k)
        self.regression = Branch(in_channels, hidden, 2 * k)
        self.offset = Branch(in_channels, hidden, 2 * k)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        x = feats[-1]
        return (torch.sigmoid(self.center(x)), torch.sigmoid(self.heatmap(x)),
                self.regression(x), self.offset(x))
