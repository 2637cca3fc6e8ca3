"""MobileNetV2 with TensorFlow "same" padding and batch norm folded into the convolutions.

MoveNet's backbone (Keras ``MobileNetV2``): the stem, 17 inverted-residual blocks and a final
1 x 1 conv, every convolution carrying the folded batch norm as its bias, ReLU6 after the
expand and depthwise convolutions, none after the projection. Stride-2 convolutions pad
bottom/right only, as TensorFlow's "same" padding does on even sizes, so imported weights
give the source model's numbers.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

# (expansion t, output channels c, repeats n, first stride s): Keras MobileNetV2's table.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1)]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Keras's channel rounding: nearest multiple of ``divisor``, never 10% below ``value``."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


class SameConv2d(nn.Conv2d):
    """A Conv2d with TensorFlow's "same" padding for odd kernels on even-sized inputs.

    Stride 1 pads ``k // 2`` on every side; stride 2 pads ``k - 2`` pixels, split with the
    extra one bottom/right, as TensorFlow does. Inputs are multiples of 32 (the presets check
    it), so every stride-2 layer sees an even size and the padding is static: clean ONNX
    graphs with no shape arithmetic.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 bias: bool = True) -> None:
        if kernel % 2 == 0 or stride not in (1, 2):
            raise ValueError("SameConv2d supports odd kernels with stride 1 or 2")
        super().__init__(cin, cout, kernel, stride, kernel // 2 if stride == 1 else 0, groups=groups, bias=bias)
        total = kernel - 2 if stride == 2 else 0
        self.tf_pad = (total // 2, total - total // 2, total // 2, total - total // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.tf_pad):
            x = F.pad(x, self.tf_pad)
        return super().forward(x)


class InvertedResidual(nn.Module):
    """1 x 1 expand (ReLU6) -> 3 x 3 depthwise (ReLU6) -> 1 x 1 project; residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = cin * expansion
        self.expand = SameConv2d(cin, mid, 1) if expansion != 1 else None
        self.dw = SameConv2d(mid, mid, 3, stride, groups=mid)
        self.project = SameConv2d(mid, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.expand(x)) if self.expand is not None else x
        y = self.project(F.relu6(self.dw(y)))
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """Image [B,3,H,W] -> the features after the blocks in ``out_indices`` (block numbers as in
    Keras: 0 is ``expanded_conv``, 16 the last; 17 is the final 1 x 1 conv ``out_relu``)."""

    def __init__(self, widen_factor: float = 1.0, last_channels: int = 1280,
                 out_indices: Sequence[int] = (2, 5, 9, 17)) -> None:
        super().__init__()
        stem = make_divisible(32 * widen_factor)
        self.stem = SameConv2d(3, stem, 3, 2)
        blocks: list[nn.Module] = []
        cin = stem
        channels = []
        for t, c, n, s in SETTINGS:
            cout = make_divisible(c * widen_factor)
            for i in range(n):
                blocks.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                channels.append(cout)
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.last = SameConv2d(cin, int(last_channels), 1)
        channels.append(int(last_channels))
        self.out_indices = tuple(int(i) for i in out_indices)
        if any(i < 0 or i >= len(channels) for i in self.out_indices):
            raise ValueError(f"out_indices must be within 0..{len(channels) - 1}")
        self.out_channels = [channels[i] for i in self.out_indices]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = F.relu6(self.stem(x))
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.out_indices:
                outs.append(x)
        if 17 in self.out_indices:
            outs.append(F.relu6(self.last(x)))
        return tuple(outs)
