"""AdamW without weight decay on norms and biases, warm-up + cosine schedule, EMA weights."""

from __future__ import annotations

import copy
import math

import torch


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: decayed weights, and norms/biases/1-D parameters without decay."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # Norm scales/shifts and biases are 1-D; decaying them only fights normalisation.
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: torch.nn.Module, cfg: dict) -> torch.optim.Optimizer:
    """AdamW over ``param_groups`` with the config's lr, betas and weight decay."""
    return torch.optim.AdamW(param_groups(model, cfg.get("weight_decay", 0.05)), lr=cfg["lr"],
                             betas=tuple(cfg.get("betas", (0.9, 0.999))))


def lr_factor(it: int, total: int, warmup: int, warmup_ratio: float = 0.001, min_ratio: float = 0.05) -> float:
    """Multiplier of the base lr at iteration ``it``: linear warm-up, then cosine to ``min_ratio``.

    A pure function of the iteration, so resuming needs only the iteration count.
    """
    if warmup > 0 and it < warmup:
        return warmup_ratio + (1 - warmup_ratio) * it / warmup
    span = max(total - warmup, 1)
    t = min(max(it - warmup, 0) / span, 1.0)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


class ModelEMA:
    """Exponential moving average of a model's weights (buffers are copied).

    The decay ramps up as ``decay * (1 - exp(-updates / ramp))`` so that the average does
    not drag the random initialisation along early in training (as YOLOX/RTMPose do);
    ``ramp=0`` uses the full decay from the first update (fine-tuning pretrained weights,
    where the starting point is worth keeping).
    """

    def __init__(self, model: torch.nn.Module, decay: float = 0.9998, ramp: float = 2000.0) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay, self.ramp, self.updates = decay, ramp, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Blend the current weights of ``model`` in."""
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.ramp)) if self.ramp > 0 else self.decay
        msd = model.state_dict()
        for k, v in self.module.state_dict().items():
            src = msd[k].detach()
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src.to(v.dtype), alpha=1 - d)
            else:
                v.copy_(src)

    def state_dict(self) -> dict:
        """Weights and update count."""
        return {"module": self.module.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        """Restore from ``state_dict()``."""
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
        self.decay = float(state.get("decay", self.decay))
