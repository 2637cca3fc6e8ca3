"""Building blocks of CSPNeXt, the PAFPN and the heads (plain torch)."""

from __future__ import annotations

import torch
from torch import nn

# RTMDet/RTMPose train BN with these; kept so that checkpoints behave the same.
BN_MOMENTUM, BN_EPS = 0.03, 0.001


class ConvBNAct(nn.Module):
    """Conv2d (no bias) + BatchNorm + SiLU (or another activation)."""

    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1,
                 act: type[nn.Module] | None = nn.SiLU) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, momentum=BN_MOMENTUM, eps=BN_EPS)
        self.act = act() if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class DWSepConv(nn.Module):
    """Depthwise k x k ConvBNAct followed by a pointwise 1 x 1 ConvBNAct."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.depthwise = ConvBNAct(cin, cin, k, stride, groups=cin)
        self.pointwise = ConvBNAct(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def conv3x3(cin: int, cout: int, stride: int = 1, depthwise: bool = False) -> nn.Module:
    """A 3 x 3 ConvBNAct, or its depthwise-separable form."""
    return DWSepConv(cin, cout, 3, stride) if depthwise else ConvBNAct(cin, cout, 3, stride)


class ChannelAttention(nn.Module):
    """Squeeze-style channel gate: global average pool, 1 x 1 conv, hard sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(self.fc(self.pool(x)))


class CSPNeXtBlock(nn.Module):
    """3 x 3 conv then a 5 x 5 depthwise-separable conv, with an optional residual."""

    def __init__(self, cin: int, cout: int, add_identity: bool = True, depthwise: bool = False,
                 kernel_size: int = 5) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, cout, 1, depthwise)
        self.conv2 = DWSepConv(cout, cout, kernel_size)
        self.add_identity = add_identity and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Cross-stage partial layer: a main branch of CSPNeXt blocks beside a 1 x 1 shortcut."""

    def __init__(self, cin: int, cout: int, num_blocks: int = 1, add_identity: bool = True,
                 depthwise: bool = False, expand_ratio: float = 0.5,
                 channel_attention: bool = False) -> None:
        super().__init__()
        mid = int(cout * expand_ratio)
        self.main_conv = ConvBNAct(cin, mid, 1)
        self.short_conv = ConvBNAct(cin, mid, 1)
        self.final_conv = ConvBNAct(2 * mid, cout, 1)
        self.blocks = nn.Sequential(*[CSPNeXtBlock(mid, mid, add_identity, depthwise)
                                      for _ in range(num_blocks)])
        self.attention = ChannelAttention(2 * mid) if channel_attention else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.blocks(self.main_conv(x))
        out = torch.cat([main, self.short_conv(x)], 1)
        return self.final_conv(self.attention(out))


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): three chained max-pools concatenated."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 5) -> None:
        super().__init__()
        mid = cin // 2
        self.conv1 = ConvBNAct(cin, mid, 1)
        self.pool = nn.MaxPool2d(kernel_size, 1, kernel_size // 2)
        self.conv2 = ConvBNAct(mid * 4, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.conv2(torch.cat([x, y1, y2, self.pool(y2)], 1))


class ScaleNorm(nn.Module):
    """RMS-style norm with one learned gain: x / (||x|| / sqrt(d)) * g."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale = dim ** -0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g
