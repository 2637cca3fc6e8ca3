"""The detector's training loss: assignment, empty images, and that it actually trains."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from poselive.models import build_model, detector_spec  # noqa: E402
from poselive.models.losses import assign_dynamic, giou_loss  # noqa: E402


def _scene(gen):
    """Two images 64x64: bright rectangles ('persons') on noise, with their boxes."""
    imgs = torch.randn(2, 3, 64, 64, generator=gen) * 0.2
    boxes = [torch.tensor([[6.0, 5.0, 28.0, 56.0], [40.0, 20.0, 59.0, 54.0]]),
             torch.tensor([[20.0, 13.0, 47.0, 60.0]])]
    for i, bs in enumerate(boxes):
        for x1, y1, x2, y2 in bs.int().tolist():
            imgs[i, :, y1:y2, x1:x2] += 2.0
    return imgs, boxes


def _best_iou(model, imgs, boxes):
    # batch statistics (train-mode BN): a few steps cannot settle BN's running averages
    with torch.no_grad():
        out = model.forward_train(imgs)
    ious, scores = [], []
    for i, gt in enumerate(boxes):
        sc = out["cls_logits"][i].sigmoid()
        best = out["boxes"][i, sc.argmax()]
        ious.append(max(1 - float(giou_loss(best[None], g[None])) for g in gt))
        scores.append(float(sc.max()))
    return min(ious), min(scores)


def test_loss_trains_the_detector():
    torch.manual_seed(0)
    model = build_model(detector_spec((64, 64))).train()
    imgs, boxes = _scene(torch.Generator().manual_seed(0))
    iou_before, score_before = _best_iou(model, imgs, boxes)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-3)
    history = []
    for _ in range(20):
        losses = model.loss(model.forward_train(imgs), boxes)
        assert torch.isfinite(losses["loss"]) and losses["num_pos"] > 0
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        history.append(float(losses["loss"].detach()))
    assert sum(history[-5:]) < 0.5 * sum(history[:5])
    iou_after, score_after = _best_iou(model, imgs, boxes)
    # the top-scoring box of each image now sits on a person and is confident
    assert iou_after > 0.5 and iou_after > iou_before
    assert score_after > 0.3 > score_before


def test_empty_image_gives_background_only_loss():
    model = build_model(detector_spec((64, 64))).train()
    out = model.forward_train(torch.randn(2, 3, 64, 64))
    losses = model.loss(out, [torch.zeros(0, 4), torch.zeros(0, 4)])
    assert losses["num_pos"] == 0 and float(losses["loss_box"]) == 0.0
    assert float(losses["loss_cls"]) > 0
    losses["loss"].backward()  # still differentiable


def test_assignment_picks_priors_inside_boxes():
    points = torch.tensor([[float(x), float(y)] for y in range(0, 64, 8) for x in range(0, 64, 8)])
    strides = torch.full((len(points),), 8.0)
    gt = torch.tensor([[10.0, 10.0, 40.0, 50.0]])
    # predictions: a box around each prior the size of the gt
    boxes = torch.cat([points - torch.tensor([15.0, 20.0]), points + torch.tensor([15.0, 20.0])], 1)
    logits = torch.zeros(len(points))
    assigned, quality = assign_dynamic(logits, boxes, points, strides, gt)
    pos = assigned >= 0
    assert pos.sum() >= 1
    p = points[pos]
    assert bool(((p[:, 0] > 10) & (p[:, 0] < 40) & (p[:, 1] > 10) & (p[:, 1] < 50)).all())
    assert bool((quality[pos] > 0).all()) and bool((quality[~pos] == 0).all())
    # the prior nearest the centre (24, 32) is among the positives
    centre = ((points - torch.tensor([25.0, 30.0])).norm(dim=1)).argmin()
    assert bool(pos[centre])
