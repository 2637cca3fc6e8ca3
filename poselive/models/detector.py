"""One-class anchor-free person detector: backbone + neck + RTMDet head, NMS outside."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class PersonDetector(nn.Module):
    """Image batch [B,3,H,W] -> ``boxes`` [B,N,4] (xyxy, input px) and ``scores`` [B,N] (sigmoid).

    N is the number of prior points over all levels (H*W/64 + H*W/256 + H*W/1024 for strides
    8, 16, 32). Non-maximum suppression is left to the caller, which keeps the graph simple
    for ONNX and TensorRT.
    """

    task = "detector"

    def __init__(self, backbone: nn.Module, neck: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head

    def _priors(self, shapes: Sequence[tuple[int, int]], device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        points, strides = [], []
        for (h, w), s in zip(shapes, self.head.strides):
            ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype) * s,
                                    torch.arange(w, device=device, dtype=dtype) * s, indexing="ij")
            points.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], -1))
            strides.append(torch.full((h * w,), float(s), device=device, dtype=dtype))
        return torch.cat(points), torch.cat(strides)

    def forward_train(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs for ``loss``: ``cls_logits`` [B,N], ``boxes`` [B,N,4], ``points`` [N,2], ``strides`` [N]."""
        cls_maps, reg_maps = self.head(self.neck(self.backbone(x)))
        b = x.shape[0]
        logits = torch.cat([c.reshape(b, -1) for c in cls_maps], 1)
        dist = torch.cat([r.reshape(b, 4, -1) for r in reg_maps], 2).transpose(1, 2)
        points, strides = self._priors([tuple(c.shape[-2:]) for c in cls_maps], x.device, x.dtype)
        boxes = torch.cat([points - dist[..., :2], points + dist[..., 2:]], -1)
        return {"cls_logits": logits, "boxes": boxes, "points": points, "strides": strides}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.forward_train(x)
        return out["boxes"], out["cls_logits"].sigmoid()

    def loss(self, outputs: dict[str, torch.Tensor], targets: Sequence[torch.Tensor]) -> dict:
        """Training loss; see ``poselive.models.losses.detector_loss`` for the inputs."""
        from poselive.models.losses import detector_loss

        return detector_loss(outputs, targets)
