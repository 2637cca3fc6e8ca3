"""Training MoveNet-architecture models: the movenet loss, freezing, and the distillation set
(precomputed teacher maps) through the real Trainer."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from poselive.codecs import build_codec  # noqa: E402
from poselive.errors import ConfigError  # noqa: E402
from poselive.models import build_model, preset_spec  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.distill import MoveNetDistillSet, resample_to_grid  # noqa: E402
from trainer.losses import MoveNetLoss, build_loss  # noqa: E402
from trainer.train import Trainer, freeze_parameters  # noqa: E402

SPEC = preset_spec("movenet-lightning")


def _targets(kpts):
    codec = build_codec(SPEC["codec"])
    enc = codec.encode(kpts)
    w = torch.from_numpy(enc.pop("weights"))
    return {k: torch.from_numpy(v) for k, v in enc.items()}, w


def test_loss_is_zero_on_its_own_targets_and_grows_off_them():
    rng = np.random.default_rng(0)
    t, w = _targets(rng.uniform(40, 150, (2, 17, 2)).astype(np.float32))
    loss = build_loss(None, SPEC)
    assert isinstance(loss, MoveNetLoss)
    assert float(loss(dict(t), t, w)) == pytest.approx(0.0, abs=1e-7)
    moved = dict(t, keypoint_offsets=t["keypoint_offsets"] + 0.5)
    # only the peak cells count for the offsets: 0.5 per masked value
    assert float(loss(moved, t, w)) == pytest.approx(0.5, rel=1e-5)


def test_freeze_parameters():
    model = build_model(SPEC)
    n = freeze_parameters(model, ["backbone", "head.center"])
    assert n == sum(p.numel() for name, p in model.named_parameters()
                    if name.startswith(("backbone", "head.center")))
    assert all(p.requires_grad for name, p in model.named_parameters() if name.startswith("head.heatmap"))
    with pytest.raises(ConfigError, match="no parameter"):
        freeze_parameters(model, ["bakbone"])


def test_resample_to_grid_keeps_cell_positions():
    # a ramp of positions on a 64 grid, read on a 48 grid, gives 48-grid cell j at 64-cell j*4/3
    ramp = np.tile(np.arange(64, dtype=np.float32), (64, 1))
    got = resample_to_grid(ramp, 48)
    np.testing.assert_allclose(got[0, :47], np.arange(47) * 64 / 48, atol=1e-5)


def _fake_targets(path, n=8):
    """A distillation file as trainer.distill writes it (from random crops and maps)."""
    rng = np.random.default_rng(1)
    k, h = 17, 48
    kpts = np.concatenate([rng.uniform(30, 160, (n, k, 2)), rng.uniform(0.3, 0.9, (n, k, 1))], -1)
    heat = rng.uniform(0, 0.1, (n, k, h, h))
    gt = np.zeros((n, k, 3), np.float32)
    gt[0, :5] = [[60, 60, 1]] * 5
    np.savez(path, meta=json.dumps({"crops": n}), sources=np.array(["x"] * n),
             crops=rng.integers(0, 255, (n, 192, 192, 3), dtype=np.uint8),
             teacher_heatmaps=heat.astype(np.float16), teacher_keypoints=kpts.astype(np.float32),
             start_center=rng.uniform(0, 0.5, (n, h, h)).astype(np.float16),
             start_center_index=np.full(n, 24 * 48 + 24, np.int32),
             start_regression=rng.normal(0, 3, (n, 34)).astype(np.float32), gt_keypoints=gt,
             features=rng.uniform(0, 1, (n, 24, h, h)).astype(np.float16))
    return kpts, gt


def test_distill_set_targets_decode_to_teacher_or_real_keypoints(tmp_path):
    kpts, gt = _fake_targets(tmp_path / "t.npz")
    ds = MoveNetDistillSet(tmp_path / "t.npz", SPEC)
    codec = build_codec(SPEC["codec"])
    for i in range(2):
        t = ds[i]["targets"]
        got, _ = codec.decode(*(t[n][None] for n in ("center_heatmap", "keypoint_heatmaps",
                                                      "keypoint_regression", "keypoint_offsets")))
        want = np.where(gt[i, :, 2:] > 0, gt[i, :, :2], kpts[i, :, :2])
        # the heatmap argmax is the teacher's (random here) unless a real label sets it, so
        # compare only where a real label gave a Gaussian peak
        if gt[i, :, 2].any():
            np.testing.assert_allclose(got[0][gt[i, :, 2] > 0], want[gt[i, :, 2] > 0], atol=1e-4)
        assert t["offset_mask"].sum() > 0 and t["regression_mask"].sum() == 1
    assert ds[0]["inputs"].shape == (3, 192, 192)
    assert MoveNetDistillSet(tmp_path / "t.npz", SPEC, inputs="features")[0]["inputs"].shape == (24, 48, 48)


def test_trainer_on_precomputed_features_trains_only_the_heads(tmp_path):
    _fake_targets(tmp_path / "t.npz")
    cfg = load_config({
        "work_dir": str(tmp_path / "run"), "model": {"preset": "movenet-lightning"},
        "data": {"train": {"format": "movenet_distill", "path": str(tmp_path / "t.npz"), "inputs": "features"},
                 "workers": 0},
        "freeze": ["backbone", "neck", "head.center", "head.regression"],
        "optim": {"lr": 1e-3, "warmup_iters": 0, "weight_decay": 0.0},
        "schedule": {"epochs": 1, "batch_size": 4, "val_interval": 0, "ckpt_interval": 1},
        "ema": {"enabled": False}, "amp": "off", "log": {"progress": False, "tensorboard": False}})
    trainer = Trainer(cfg)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    after = trainer.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(("head.heatmap", "head.offset")) for k in changed)
    bad = dict(cfg, freeze=["backbone"])
    with pytest.raises(ConfigError, match="backbone and neck frozen"):
        Trainer(bad)
