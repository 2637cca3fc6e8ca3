"""MoveNet's FPN-style upsampling neck: stride 32 -> 4 by bilinear 2x steps with lateral adds."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from poselive.models.backbones.mobilenetv2 import SameConv2d


class SeparableConv(nn.Module):
    """3 x 3 depthwise (no bias) then 1 x 1 pointwise with bias, then ReLU (Keras SeparableConv2D)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.dw = SameConv2d(cin, cin, 3, groups=cin, bias=False)
        self.pw = SameConv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.pw(self.dw(x)))


class MoveNetFPN(nn.Module):
    """Backbone features (fine to coarse, the coarsest last) -> one map at the finest stride.

    The coarsest map is reduced by a 1 x 1 conv; then, level by level towards the finest,
    it is upsampled 2x (bilinear, half-pixel centres), added to a 1 x 1 lateral conv of the
    backbone feature and smoothed by a separable conv with ReLU.
    """

    def __init__(self, in_channels: Sequence[int] = (24, 32, 64, 1280),
                 channels: Sequence[int] = (64, 32, 24, 24)) -> None:
        super().__init__()
        cin = [int(c) for c in in_channels]
        ch = [int(c) for c in channels]
        if len(ch) != len(cin):
            raise ValueError("MoveNetFPN needs one channel count per input level")
        self.top = SameConv2d(cin[-1], ch[0], 1)
        # laterals[j] / smooth[j] act on the level j+1 steps finer than the top.
        lateral_in = cin[-2::-1]
        self.laterals = nn.ModuleList(SameConv2d(c, ch[j], 1) for j, c in enumerate(lateral_in))
        self.smooth = nn.ModuleList(SeparableConv(ch[j], ch[j + 1]) for j in range(len(lateral_in)))
        self.out_channels = [ch[-1]]

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor]:
        x = self.top(feats[-1])
        for j, feat in enumerate(reversed(feats[:-1])):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = self.smooth[j](x + self.laterals[j](feat))
        return (x,)
