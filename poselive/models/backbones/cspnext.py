"""CSPNeXt, the backbone of RTMDet and RTMPose."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from poselive.models.layers import ConvBNAct, CSPLayer, SPPF, conv3x3

# P5 stages: (in channels, out channels, blocks, residual in blocks, SPPF) before scaling.
P5 = ((64, 128, 3, True, False), (128, 256, 6, True, False),
      (256, 512, 6, True, False), (512, 1024, 3, False, True))

# The sizes RTMDet and RTMPose use: (deepen_factor, widen_factor).
SIZES = {"nano": (0.33, 0.25), "tiny": (0.167, 0.375), "small": (0.33, 0.5),
         "medium": (0.67, 0.75), "large": (1.0, 1.0)}


class CSPNeXt(nn.Module):
    """CSPNeXt (P5): stem then four CSP stages; returns the features of ``out_indices``.

    Stage ``i`` (1-based) has stride ``2 ** (i + 1)``; index 0 is the stem (stride 2).
    """

    def __init__(self, deepen_factor: float = 1.0, widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (4,), depthwise: bool = False,
                 expand_ratio: float = 0.5, channel_attention: bool = True) -> None:
        super().__init__()
        self.out_indices = tuple(int(i) for i in out_indices)
        stem = int(P5[0][0] * widen_factor)
        self.stem = nn.Sequential(ConvBNAct(3, stem // 2, 3, 2), ConvBNAct(stem // 2, stem // 2, 3),
                                  ConvBNAct(stem // 2, stem, 3))
        self.stages = nn.ModuleList()
        self.channels = [stem]
        for cin, cout, blocks, identity, spp in P5:
            cin, cout = int(cin * widen_factor), int(cout * widen_factor)
            layers: list[nn.Module] = [conv3x3(cin, cout, 2, depthwise)]
            if spp:
                layers.append(SPPF(cout, cout))
            layers.append(CSPLayer(cout, cout, max(round(blocks * deepen_factor), 1), identity,
                                   depthwise, expand_ratio, channel_attention))
            self.stages.append(nn.Sequential(*layers))
            self.channels.append(cout)

    @property
    def out_channels(self) -> list[int]:
        """Channels of each returned feature map."""
        return [self.channels[i] for i in self.out_indices]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = [x] if 0 in self.out_indices else []
        for i, stage in enumerate(self.stages, 1):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


def cspnext(size: str | None = None, deepen_factor: float | None = None,
            widen_factor: float | None = None, **kwargs) -> CSPNeXt:
    """CSPNeXt by size name ('nano', 'tiny', 'small', 'medium', 'large') or by factors."""
    d, w = SIZES[size] if size else (1.0, 1.0)
    return CSPNeXt(deepen_factor if deepen_factor is not None else d,
                   widen_factor if widen_factor is not None else w, **kwargs)
