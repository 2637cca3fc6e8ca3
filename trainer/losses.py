"""Pose losses: SimCC KL divergence (RTMPose), weighted heatmap MSE, MoveNet's four maps.

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


class MoveNetLoss(torch.nn.Module):
    """MoveNet's four maps: squared error on the centre and keypoint heatmaps (soft or
    Gaussian targets), L1 on regression and offsets where a mask says they are defined.

    Masks come with the targets (``regression_mask`` [B,1,h,w], ``offset_mask`` [B,K,h,w],
    as distillation sets give them) or, for targets from the movenet codec, are the peak
    cells (value 1) of the centre and keypoint heatmaps, as CenterNet trains them.
    """

    def __init__(self, heatmap_weight: float = 1.0, center_weight: float = 1.0,
                 offset_weight: float = 1.0, regression_weight: float = 1.0) -> None:
        super().__init__()
        self.w = (float(heatmap_weight), float(center_weight), float(offset_weight), float(regression_weight))

    @staticmethod
    def _masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # mask [B,M,h,w] for M (dy, dx) pairs in [B,2M,h,w]
        m = mask.repeat_interleave(2, dim=1) if mask.shape[1] * 2 == pred.shape[1] else mask
        return ((pred.float() - target.float()).abs() * m).sum() / m.sum().clamp(min=1.0)

    def forward(self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                weights: torch.Tensor) -> torch.Tensor:
        """Loss for the four ``movenet`` outputs; weights [B,K] per keypoint."""
        w_hm, w_c, w_off, w_reg = self.w
        heat_t = targets["keypoint_heatmaps"].float()
        heat = ((outputs["keypoint_heatmaps"].float() - heat_t) ** 2).flatten(2).sum(-1)  # [B,K]
        loss = w_hm * (heat * weights.float()).mean()
        center_t = targets["center_heatmap"].float()
        loss = loss + w_c * ((outputs["center_heatmap"].float() - center_t) ** 2).flatten(1).sum(-1).mean()
        off_mask = targets.get("offset_mask")
        if off_mask is None:
            off_mask = (heat_t >= 1.0).float() * weights.float()[..., None, None]
        reg_mask = targets.get("regression_mask")
        if reg_mask is None:
            reg_mask = (center_t >= 1.0).float()
        if w_off:
            loss = loss + w_off * self._masked_l1(outputs["keypoint_offsets"], targets["keypoint_offsets"], off_mask)
        if w_reg:
            loss = loss + w_reg * self._masked_l1(outputs["keypoint_regression"], targets["keypoint_regression"],
                                                  reg_mask)
        return loss


LOSSES: dict[str, type] = {
    "simcc_kl": SimCCKLLoss,
    "heatmap_mse": HeatmapMSELoss,
    "movenet": MoveNetLoss,
}


def build_loss(cfg: dict[str, Any] | None, spec: dict[str, Any]) -> torch.nn.Module:
    """The loss named in ``cfg["type"]``, or the default for the spec's codec."""
    cfg = dict(cfg or {})
    name = cfg.pop("type", None)
    if name is None:
        codec = spec.get("codec", {}).get("type")
        name = {"simcc": "simcc_kl", "movenet": "movenet"}.get(codec, "heatmap_mse")
    if name not in LOSSES:
        raise ConfigError(f"unknown loss '{name}'; known: {', '.join(LOSSES)}")
    return LOSSES[name](**cfg)
