"""RTMCC head (RTMPose): large-kernel conv, gated attention unit, 1-D x/y classifiers."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from poselive.models.layers import ScaleNorm


class GAUBlock(nn.Module):
    """Gated attention unit over keypoint tokens (self-attention with a squared-ReLU kernel)."""

    def __init__(self, dim: int, expansion: float = 2.0, s: int = 128, eps: float = 1e-5) -> None:
        super().__init__()
        self.e = int(dim * expansion)
        self.s = s
        self.norm = ScaleNorm(dim, eps)
        self.uv = nn.Linear(dim, 2 * self.e + s, bias=False)
        self.o = nn.Linear(self.e, dim, bias=False)
        # Per-dimension offsets/scales that turn the shared base into queries and keys.
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        # Learned per-channel scale on the residual path (RTMPose's "Scale" layer).
        self.res_scale = nn.Parameter(torch.ones(dim))
        nn.init.xavier_uniform_(self.uv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.uv(self.norm(x)))
        u, v, base = torch.split(h, [self.e, self.e, self.s], dim=-1)
        base = base.unsqueeze(2) * self.gamma + self.beta  # [B,T,2,s]
        q, k = base[:, :, 0], base[:, :, 1]
        kernel = F.relu(torch.matmul(q, k.transpose(1, 2)) / math.sqrt(self.s)) ** 2
        return x * self.res_scale + self.o(u * torch.matmul(kernel, v))


class RTMCCHead(nn.Module):
    """Feature map [B,C,h,w] -> ``simcc_x`` [B,K,W*r] and ``simcc_y`` [B,K,H*r]."""

    def __init__(self, in_channels: int, num_keypoints: int, input_size: Sequence[int] = (192, 256),
                 in_featuremap_size: Sequence[int] = (6, 8), split_ratio: float = 2.0,
                 final_kernel: int = 7, hidden_dims: int = 256, gau_s: int = 128,
                 gau_expansion: float = 2.0) -> None:
        super().__init__()
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, final_kernel, 1, final_kernel // 2)
        flat = int(in_featuremap_size[0]) * int(in_featuremap_size[1])
        self.mlp = nn.Sequential(ScaleNorm(flat), nn.Linear(flat, hidden_dims, bias=False))
        self.gau = GAUBlock(hidden_dims, gau_expansion, gau_s)
        self.cls_x = nn.Linear(hidden_dims, int(input_size[0] * split_ratio), bias=False)
        self.cls_y = nn.Linear(hidden_dims, int(input_size[1] * split_ratio), bias=False)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.final_layer(feats[-1]).flatten(2)
        x = self.gau(self.mlp(x))
        return self.cls_x(x), self.cls_y(x)
