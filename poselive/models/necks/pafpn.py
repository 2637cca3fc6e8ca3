"""CSPNeXt-PAFPN: top-down then bottom-up fusion of three feature levels (RTMDet's neck)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from poselive.models.layers import ConvBNAct, CSPLayer, conv3x3


class CSPNeXtPAFPN(nn.Module):
    """Path-aggregation FPN built from CSP layers; every output has ``out_channels``."""

    def __init__(self, in_channels: Sequence[int] = (64, 128, 256), out_channels: int = 64,
                 num_csp_blocks: int = 1, depthwise: bool = False, expand_ratio: float = 0.5) -> None:
        super().__init__()
        ch = [int(c) for c in in_channels]
        self.reduce = nn.ModuleList()
        self.top_down = nn.ModuleList()
        for i in range(len(ch) - 1, 0, -1):
            self.reduce.append(ConvBNAct(ch[i], ch[i - 1], 1))
            self.top_down.append(CSPLayer(ch[i - 1] * 2, ch[i - 1], num_csp_blocks, False,
                                          depthwise, expand_ratio))
        self.down = nn.ModuleList()
        self.bottom_up = nn.ModuleList()
        for i in range(len(ch) - 1):
            self.down.append(conv3x3(ch[i], ch[i], 2, depthwise))
            self.bottom_up.append(CSPLayer(ch[i] * 2, ch[i + 1], num_csp_blocks, False,
                                           depthwise, expand_ratio))
        self.out_convs = nn.ModuleList(conv3x3(c, out_channels, 1, depthwise) for c in ch)
        self.out_channels = [out_channels] * len(ch)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        n = len(feats)
        inner = [feats[-1]]
        for j, i in enumerate(range(n - 1, 0, -1)):
            high = self.reduce[j](inner[0])
            inner[0] = high
            up = F.interpolate(high, scale_factor=2.0, mode="nearest")
            inner.insert(0, self.top_down[j](torch.cat([up, feats[i - 1]], 1)))
        outs = [inner[0]]
        for i in range(n - 1):
            down = self.down[i](outs[-1])
            outs.append(self.bottom_up[i](torch.cat([down, inner[i + 1]], 1)))
        return tuple(conv(o) for conv, o in zip(self.out_convs, outs))
