"""Heatmap head (SimpleBaseline): transposed convolutions then a 1 x 1 keypoint conv."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class HeatmapHead(nn.Module):
    """Feature map [B,C,h,w] -> ``heatmaps`` [B,K,h*2^n,w*2^n] with n deconvolution layers."""

    def __init__(self, in_channels: int, num_keypoints: int,
                 deconv_channels: Sequence[int] = (256, 256, 256), deconv_kernel: int = 4,
                 final_kernel: int = 1) -> None:
        super().__init__()
        if deconv_kernel not in (2, 3, 4):
            raise ValueError("deconv_kernel must be 2, 3 or 4")
        # Padding choices that keep an exact 2x upsampling for each kernel size.
        pad, out_pad = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[deconv_kernel]
        layers: list[nn.Module] = []
        c = in_channels
        for cout in deconv_channels:
            layers += [nn.ConvTranspose2d(c, cout, deconv_kernel, 2, pad, out_pad, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            c = cout
        self.deconv = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(c, num_keypoints, final_kernel, 1, final_kernel // 2)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.final_layer(self.deconv(feats[-1]))
