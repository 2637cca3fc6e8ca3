"""The training loop on real images: smoke run, exact resume, config files."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import tiny_config  # noqa: E402  (tests/trainer/conftest.py, on sys.path)
from tiny_model import TinySimCC, tiny_spec  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.train import Trainer, read_training_checkpoint, train_from_config  # noqa: E402

pytestmark = pytest.mark.shared


def _model():
    torch.manual_seed(0)
    return TinySimCC(17, (32, 48))


def test_smoke_run_writes_metrics_and_self_describing_checkpoints(mini_subset, tmp_path):
    summary = train_from_config(tiny_config(mini_subset, tmp_path), model=_model(), spec=tiny_spec((32, 48)))
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(np.isfinite(float(r["loss"])) and 0 <= float(r["AP"]) <= 1 for r in rows)
    assert summary["iterations"] == 2 * min(3, mini_subset["persons"] // 4) > 0
    for name in ("last.pth", "epoch_1.pth", "epoch_2.pth", "best.pth"):
        ckpt = read_training_checkpoint(tmp_path / name)  # weights_only load
        assert ckpt["spec"]["codec"]["type"] == "simcc"
        assert ckpt["spec"]["provenance"]["train_data"]["ann"] == mini_subset["ann"]
        assert ckpt["extra"]["config"]["schedule"]["batch_size"] == 4
    assert json.loads((tmp_path / "summary.json").read_text())["epochs"] == 2


def test_loss_goes_down_when_overfitting(mini_subset, tmp_path):
    cfg = tiny_config(mini_subset, tmp_path, augment={"flip": 0, "half_body": 0, "rotate_prob": 0, "shift_prob": 0,
                                                       "scale": [1, 1], "color": 0, "blur": 0, "dropout": 0},
                      schedule={"epochs": 12, "max_iters_per_epoch": 1, "val_interval": 0, "ckpt_interval": 0},
                      optim={"lr": 1e-2, "warmup_iters": 0, "weight_decay": 0.0})
    cfg["schedule"]["batch_size"] = 4
    tr = Trainer(load_config(cfg), model=_model(), spec=tiny_spec((32, 48)))
    tr.fit()
    losses = [h["loss"] for h in tr.history]
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])


def _weights(path):
    st = read_training_checkpoint(path)["extra"]["train_state"]
    return st["model"], st["ema"]["module"], st["optimizer"]["state"]


def test_resume_reproduces_uninterrupted_run(mini_subset, tmp_path):
    spec = tiny_spec((32, 48))
    # no warm-up: the cosine lr of every step depends on the whole schedule's length
    over = {"optim": {"warmup_iters": 0}}
    train_from_config(tiny_config(mini_subset, tmp_path / "a", **over), model=_model(), spec=spec)
    # the same run, interrupted after epoch 1 ...
    Trainer(load_config(tiny_config(mini_subset, tmp_path / "b", **over)), model=_model(), spec=spec).fit(stop_after=1)
    # ... and resumed from its last checkpoint in a fresh process state, with DataLoader workers
    resumed = tiny_config(mini_subset, tmp_path / "b", resume="auto", **over)
    resumed["data"]["workers"] = 2
    torch.manual_seed(123)  # a different RNG state and initialisation on purpose
    summary = train_from_config(resumed, model=TinySimCC(17, (32, 48)), spec=spec)
    assert summary["epochs"] == 2
    a_model, a_ema, a_opt = _weights(tmp_path / "a/last.pth")
    b_model, b_ema, b_opt = _weights(tmp_path / "b/last.pth")
    for k in a_model:
        assert torch.equal(a_model[k], b_model[k]), k
        assert torch.equal(a_ema[k], b_ema[k]), k
    for i in a_opt:
        assert torch.equal(a_opt[i]["exp_avg"], b_opt[i]["exp_avg"])
    rows_a = list(csv.DictReader(open(tmp_path / "a/metrics.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "b/metrics.csv")))
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b] and len(rows_b) == 2
    # and interrupting changed something real: epoch-1 weights differ from the final ones
    e1 = read_training_checkpoint(tmp_path / "b/epoch_1.pth")["extra"]["train_state"]["model"]
    assert any(not torch.equal(e1[k], b_model[k]) for k in e1)


def test_config_files_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("schedule: {epochs: 3}\noptim: {lr: 0.001}\nmodel: {preset: rtmpose-s}\n")
    cfg = load_config(p, overrides=["schedule.batch_size=4", "optim.lr=0.002", "eval.flip_test=true"])
    assert cfg["schedule"] == {**cfg["schedule"], "epochs": 3, "batch_size": 4}
    assert cfg["optim"]["lr"] == 0.002 and cfg["optim"]["warmup_iters"] == 100  # defaults kept
    assert cfg["model"] == {"preset": "rtmpose-s"} and cfg["eval"]["flip_test"] is True
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"seed": 5}))
    assert load_config(j)["seed"] == 5
    from poselive.errors import ConfigError

    j.write_text(json.dumps({"sead": 5}))
    with pytest.raises(ConfigError, match="unknown config keys: sead"):
        load_config(j)


def test_bf16_autocast_on_cpu_trains(mini_subset, tmp_path):
    cfg = tiny_config(mini_subset, tmp_path, amp="bf16",
                      schedule={"epochs": 1, "max_iters_per_epoch": 2, "val_interval": 0, "ckpt_interval": 0})
    tr = Trainer(load_config(cfg), model=_model(), spec=tiny_spec((32, 48)))
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    tr.fit()
    assert tr.amp == "bf16" and np.isfinite(tr.history[0]["loss"])
    assert any(not torch.equal(before[k], v) for k, v in tr.model.state_dict().items())
    from poselive.errors import ConfigError

    with pytest.raises(ConfigError, match="fp16 mixed precision needs CUDA"):
        Trainer(load_config(tiny_config(mini_subset, tmp_path / "x", amp="fp16")), model=_model(), spec=tiny_spec((32, 48)))


def test_overfit_config_file_smoke(mini_subset, tmp_path, shared, monkeypatch):
    """The shipped overfit config with the real RTMPose-t, cut to two iterations."""
    pytest.importorskip("poselive.models")
    from pathlib import Path

    monkeypatch.setenv("POSELIVE_SHARED", str(shared))
    config = Path(__file__).resolve().parents[2] / "configs/overfit-coco-mini.yaml"
    summary = train_from_config(config, overrides={
        "work_dir": str(tmp_path), "schedule.epochs": 1, "schedule.max_iters_per_epoch": 2,
        "data.val.ann": mini_subset["ann"], "schedule.val_interval": 1})
    assert summary["iterations"] == 2 and summary["best_epoch"] == 1
    ckpt = read_training_checkpoint(tmp_path / "best.pth")
    assert ckpt["spec"]["name"] == "poselive-pose-t" and ckpt["spec"]["input_size"] == [96, 128]
    assert ckpt["spec"]["provenance"]["train_persons"] > 50  # the whole train2017, not the subset
