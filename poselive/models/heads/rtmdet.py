"""RTMDet's separated-BN head for one class: per-level conv towers, optionally sharing weights."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from poselive.models.layers import conv3x3


class RTMDetSepBNHead(nn.Module):
    """Per level: class logits [B,C,h,w] and box distances (l, t, r, b) [B,4,h,w] in input px."""

    def __init__(self, in_channels: int = 64, feat_channels: int = 64, num_classes: int = 1,
                 stacked_convs: int = 2, strides: Sequence[int] = (8, 16, 32),
                 share_conv: bool = True, depthwise: bool = False, exp_on_reg: bool = False) -> None:
        super().__init__()
        self.strides = tuple(int(s) for s in strides)
        self.exp_on_reg = exp_on_reg
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        for _ in self.strides:
            self.cls_convs.append(nn.Sequential(*[
                conv3x3(in_channels if i == 0 else feat_channels, feat_channels, 1, depthwise)
                for i in range(stacked_convs)]))
            self.reg_convs.append(nn.Sequential(*[
                conv3x3(in_channels if i == 0 else feat_channels, feat_channels, 1, depthwise)
                for i in range(stacked_convs)]))
            self.cls_preds.append(nn.Conv2d(feat_channels, num_classes, 1))
            self.reg_preds.append(nn.Conv2d(feat_channels, 4, 1))
        if share_conv:
            # Share the convolution weights across levels but keep one BN per level
            # (feature statistics differ between strides).
            for towers in (self.cls_convs, self.reg_convs):
                for tower in towers[1:]:
                    for (name, mod), ref in zip(tower.named_modules(), towers[0].modules()):
                        if isinstance(mod, nn.Conv2d):
                            parent = tower.get_submodule(name.rsplit(".", 1)[0]) if "." in name else tower
                            setattr(parent, name.rsplit(".", 1)[-1], ref)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        prior = 0.01  # initial foreground probability: keeps the early focal loss stable
        for p in self.cls_preds:
            nn.init.constant_(p.bias, -math.log((1 - prior) / prior))
        if not self.exp_on_reg:
            # Start with boxes two strides wide rather than empty ones, so that the first
            # assignments see non-zero IoUs.
            for p in self.reg_preds:
                nn.init.constant_(p.bias, 1.0)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        cls_out, reg_out = [], []
        for i, x in enumerate(feats):
            cls_out.append(self.cls_preds[i](self.cls_convs[i](x)))
            reg = self.reg_preds[i](self.reg_convs[i](x))
            reg_out.append((reg.exp() if self.exp_on_reg else reg) * self.strides[i])
        return cls_out, reg_out
