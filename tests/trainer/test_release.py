"""trainer.release: a training checkpoint becomes the shipped .pt + .onnx pair."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_release_writes_checkpoint_and_onnx_with_provenance(tmp_path):
    from poselive.models import build_model, load_model, preset_spec, save_checkpoint
    from poselive.models.export import read_onnx_spec
    from trainer.release import curve_table, main, release

    spec = preset_spec("poselive-det-nano")
    model = build_model(spec)
    history = [{"epoch": 1, "loss": 2.0, "AP": None}, {"epoch": 2, "loss": 1.5, "AP": 0.125, "AP50": 0.25}]
    ckpt = tmp_path / "last.pth"
    save_checkpoint(ckpt, model, dict(spec, provenance={"trainer": "poselive.trainer", "epochs_trained": 2}),
                    train_state={"history": history, "epoch": 2}, config={"task": "detector"}, epoch=2)
    r = release(ckpt, tmp_path / "out" / "det", command="poselive train configs/x.yaml")
    assert r["onnx_max_abs_diff"] < 1e-4
    shipped, sspec = load_model(tmp_path / "out" / "det.pt")
    for a, b in zip(model.state_dict().values(), shipped.state_dict().values()):
        assert torch.equal(a, b)
    prov = read_onnx_spec(tmp_path / "out" / "det.onnx")["provenance"]
    assert prov["epochs_trained"] == 2 and prov["release"]["training_command"] == "poselive train configs/x.yaml"
    assert len(prov["release"]["checkpoint_sha256"]) == 64 and sspec["provenance"] == prov
    # no optimiser / training state in the shipped checkpoint
    raw = torch.load(tmp_path / "out" / "det.pt", map_location="cpu", weights_only=True)
    assert "train_state" not in raw["extra"] and raw["extra"]["history"][1]["AP"] == 0.125
    table = curve_table(r["curve"])
    assert "| 2 | 1.5000 | 0.1250 | 0.2500 |" in table and "| 1 |" not in table
    assert main([str(tmp_path / "missing.pth"), str(tmp_path / "x")]) == 2
    assert json.dumps(r)  # plain data
    assert np.isfinite(r["onnx_mb"])
