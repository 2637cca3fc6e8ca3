"""Detector training loss: dynamic soft-label assignment, quality focal loss and GIoU loss.

A simplified form of RTMDet's recipe for one class. Used through
``PersonDetector.loss(outputs, targets)``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch.nn import functional as F


def box_iou_pairwise(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """IoU of every box in a [N,4] with every box in b [M,4] (xyxy) -> [N,M]."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + eps)


def giou_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """1 - GIoU for matching rows of pred [P,4] and target [P,4] (xyxy) -> [P]."""
    lt = torch.maximum(pred[:, :2], target[:, :2])
    rb = torch.minimum(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_p = (pred[:, 2:] - pred[:, :2]).clamp(min=0).prod(-1)
    area_t = (target[:, 2:] - target[:, :2]).clamp(min=0).prod(-1)
    union = area_p + area_t - inter + eps
    iou = inter / union
    hull = (torch.maximum(pred[:, 2:], target[:, 2:]) - torch.minimum(pred[:, :2], target[:, :2])).clamp(min=0).prod(-1) + eps
    return 1.0 - (iou - (hull - union) / hull)


def quality_focal_loss(logits: torch.Tensor, target: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """Elementwise QFL: BCE against a soft (IoU) target, scaled by |target - p| ** beta."""
    p = logits.sigmoid()
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none") * (target - p).abs().pow(beta)


@torch.no_grad()
def assign_dynamic(logits: torch.Tensor, boxes: torch.Tensor, points: torch.Tensor,
                   strides: torch.Tensor, gt: torch.Tensor, topk: int = 13) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic soft-label assignment for one image.

    Returns the index of the assigned ground-truth box per prior [N] (-1 for background) and
    the IoU of each prior's box with it [N] (the soft classification target).
    """
    n, m = boxes.shape[0], gt.shape[0]
    assigned = torch.full((n,), -1, dtype=torch.long, device=boxes.device)
    quality = torch.zeros(n, device=boxes.device)
    if m == 0:
        return assigned, quality
    inside = ((points[:, None, 0] > gt[None, :, 0]) & (points[:, None, 0] < gt[None, :, 2])
              & (points[:, None, 1] > gt[None, :, 1]) & (points[:, None, 1] < gt[None, :, 3]))  # [N,M]
    iou = box_iou_pairwise(boxes, gt)
    gt_centre = (gt[:, :2] + gt[:, 2:]) * 0.5
    dist = (points[:, None, :] - gt_centre[None]).norm(dim=-1) / strides[:, None]
    cost_centre = torch.pow(10.0, dist - 3.0)
    cost_iou = -torch.log(iou + 1e-7) * 3.0
    prob = logits.sigmoid()[:, None].expand(n, m)
    soft = iou
    cost_cls = F.binary_cross_entropy_with_logits(logits[:, None].expand(n, m), soft, reduction="none") \
        * (soft - prob).abs().pow(2)
    cost = cost_cls + cost_iou + cost_centre
    cost = torch.where(inside, cost, torch.full_like(cost, 1e8))
    # Each ground truth takes as many priors as its top IoUs add up to (at least one).
    k = min(topk, n)
    dyn_k = torch.topk(torch.where(inside, iou, torch.zeros_like(iou)), k, dim=0).values.sum(0).int().clamp(min=1)
    match = torch.zeros_like(cost, dtype=torch.bool)
    order = torch.argsort(cost, dim=0)
    for j in range(m):
        match[order[: int(dyn_k[j]), j], j] = True
    match &= inside
    # A prior claimed by several boxes goes to the cheapest one.
    cost_masked = torch.where(match, cost, torch.full_like(cost, float("inf")))
    best = cost_masked.argmin(1)
    pos = match.any(1)
    assigned[pos] = best[pos]
    quality[pos] = iou[pos, best[pos]]
    return assigned, quality


def detector_loss(outputs: dict, targets: Sequence[torch.Tensor], box_weight: float = 2.0) -> dict:
    """Loss of a one-class anchor-free detector.

    ``outputs`` is ``PersonDetector.forward_train``'s dict: ``cls_logits`` [B,N], ``boxes``
    [B,N,4] (xyxy, input px), ``points`` [N,2] and ``strides`` [N]. ``targets`` holds one
    tensor [M_i,4] of ground-truth person boxes per image (xyxy, input px; M_i may be 0).
    Returns ``loss`` (to backpropagate), ``loss_cls``, ``loss_box`` and ``num_pos``.
    """
    logits, boxes = outputs["cls_logits"], outputs["boxes"]
    points, strides = outputs["points"], outputs["strides"]
    cls_targets = torch.zeros_like(logits)
    pos_pred, pos_gt, pos_w = [], [], []
    for b, gt in enumerate(targets):
        gt = torch.as_tensor(gt, dtype=boxes.dtype, device=boxes.device).reshape(-1, 4)
        assigned, quality = assign_dynamic(logits[b].detach(), boxes[b].detach(), points, strides, gt)
        pos = assigned >= 0
        cls_targets[b, pos] = quality[pos]
        if pos.any():
            pos_pred.append(boxes[b, pos])
            pos_gt.append(gt[assigned[pos]])
            pos_w.append(quality[pos])
    avg = cls_targets.sum().clamp(min=1.0)
    loss_cls = quality_focal_loss(logits, cls_targets).sum() / avg
    if pos_pred:
        # Weight positives by their IoU (better boxes matter more), floored so that the
        # near-zero IoUs of a freshly initialised model still pull the boxes into place,
        # and normalised so the box loss keeps its scale whatever the IoUs are.
        w = torch.cat(pos_w).clamp(min=0.1)
        loss_box = (giou_loss(torch.cat(pos_pred), torch.cat(pos_gt)) * w).sum() / w.sum() * box_weight
        num_pos = int(w.numel())
    else:
        loss_box = boxes.sum() * 0.0  # keeps the graph connected
        num_pos = 0
    return {"loss": loss_cls + loss_box, "loss_cls": loss_cls.detach(), "loss_box": loss_box.detach(),
            "num_pos": num_pos}
