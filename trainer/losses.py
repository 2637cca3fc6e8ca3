"""Pose losses: SimCC KL divergence (RTMPose) and weighted heatmap MSE.

Both are means over the batch, so a global batch split over several processes (DDP
averages gradients) gives the same gradient as one process with the whole batch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from poselive.errors import ConfigError


class SimCCKLLoss(torch.nn.Module):
    """KL divergence between softmax(pred * beta) and the (optionally softmaxed) target.

    The idea of RTMPose's KLDiscretLoss: each coordinate is a distribution over bins; a
    temperature ``beta`` sharpens the prediction, and with ``label_softmax`` the Gaussian
    target is turned into a distribution the same way. Per keypoint the KL is averaged
    over bins and weighted by the target weight (0 for unlabelled or out-of-crop points).
    """

    def __init__(self, beta: float = 10.0, label_softmax: bool = True, use_target_weight: bool = True) -> None:
        super().__init__()
        self.beta, self.label_softmax, self.use_target_weight = beta, label_softmax, use_target_weight

    def _axis(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(pred.float() * self.beta, dim=-1)
        t = F.softmax(target.float() * self.beta, dim=-1) if self.label_softmax else target.float()
        # KL(t || p) per bin, averaged over bins -> [B, K]
        return F.kl_div(log_p, t, reduction="none").mean(-1)

    def forward(self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                weights: torch.Tensor) -> torch.Tensor:
        """Loss for ``outputs``/``targets`` with keys ``simcc_x``, ``simcc_y``; weights [B, K]."""
        w = weights.float() if self.use_target_weight else torch.ones_like(weights, dtype=torch.float32)
        b, k = w.shape
        loss = sum((self._axis(outputs[n], targets[n]) * w).sum() for n in ("simcc_x", "simcc_y"))
        return loss / (b * k)


class HeatmapMSELoss(torch.nn.Module):
    """Mean squared error between predicted and target heatmaps, weighted per keypoint."""

    def __init__(self, use_target_weight: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight, self.loss_weight = use_target_weight, loss_weight

    def forward(self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                weights: torch.Tensor) -> torch.Tensor:
        """Loss for ``heatmaps`` [B,K,h,w] with weights [B,K]."""
        err = (outputs["heatmaps"].float() - targets["heatmaps"].float()) ** 2
        err = err.flatten(2).mean(-1)  # [B, K]
        if self.use_target_weight:
            err = err * weights.float()
        return err.mean() * self.loss_weight


LOSSES: dict[str, type] = {
    "simcc_kl": SimCCKLLoss,
    "heatmap_mse": HeatmapMSELoss,
}


def build_loss(cfg: dict[str, Any] | None, spec: dict[str, Any]) -> torch.nn.Module:
    """The loss named in ``cfg["type"]``, or the default for the spec's codec."""
    cfg = dict(cfg or {})
    name = cfg.pop("type", None)
    if name is None:
        name = "simcc_kl" if spec.get("codec", {}).get("type") == "simcc" else "heatmap_mse"
    if name not in LOSSES:
        raise ConfigError(f"unknown loss '{name}'; known: {', '.join(LOSSES)}")
    return LOSSES[name](**cfg)
