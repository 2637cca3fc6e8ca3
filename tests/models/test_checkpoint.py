"""Self-describing checkpoints: save -> load_model gives the same model; bad files give ModelError."""

from __future__ import annotations

import pickle

import pytest

torch = pytest.importorskip("torch")

from poselive.errors import ConfigError, ModelError  # noqa: E402
from poselive.models import build_model, load_model, pose_spec, preset_spec, read_checkpoint, save_checkpoint  # noqa: E402


@pytest.mark.parametrize("spec", [
    pose_spec("t", input_size=(64, 96)),
    pose_spec("t", keypoint_set="ap10k", input_size=(64, 64), head="heatmap"),
    preset_spec("poselive-det-nano"),
], ids=["rtmcc", "heatmap", "detector"])
def test_round_trip_gives_identical_outputs(tmp_path, randomize, spec):
    model = randomize(build_model(spec))
    w, h = spec["input_size"]
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x)
    path = save_checkpoint(tmp_path / "m.pt", model, spec, epoch=7, metrics={"ap": 0.5})
    loaded, loaded_spec = load_model(path)
    assert not loaded.training
    assert loaded_spec["arch"] == model.spec["arch"] and loaded_spec["name"] == spec["name"]
    with torch.no_grad():
        got = loaded(x)
    ref = ref if isinstance(ref, tuple) else (ref,)
    got = got if isinstance(got, tuple) else (got,)
    for r, g in zip(ref, got):
        assert float(r.abs().max()) > 0
        torch.testing.assert_close(g, r, rtol=0, atol=0)
    raw = read_checkpoint(path)
    assert raw["extra"] == {"epoch": 7, "metrics": {"ap": 0.5}}
    # the file alone is enough and is weights_only-safe
    assert torch.load(path, weights_only=True)["spec"]["task"] == spec["task"]


def test_expect_task_mismatch(tmp_path):
    spec = preset_spec("poselive-det-nano")
    path = save_checkpoint(tmp_path / "det.pt", build_model(spec), spec)
    with pytest.raises(ModelError, match="detector model .* but a pose model is expected"):
        load_model(path, expect_task="pose")
    model, _ = load_model(path, expect_task="detector")
    assert model.task == "detector"


def test_bad_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00not a checkpoint at all" * 50)
    with pytest.raises(ModelError, match="corrupt"):
        load_model(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)  # a real torch file, but not ours
    with pytest.raises(ModelError, match="not a poselive checkpoint"):
        load_model(plain)
    sd = tmp_path / "state_dict.pt"
    torch.save(build_model(pose_spec("t", input_size=(64, 64))).state_dict(), sd)
    with pytest.raises(ModelError, match="not a poselive checkpoint"):
        load_model(sd)


def test_truncated_and_unsafe_files(tmp_path):
    spec = pose_spec("t", input_size=(64, 64))
    good = save_checkpoint(tmp_path / "good.pt", build_model(spec), spec)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError, match="corrupt"):
        load_model(cut)

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"format": "poselive-checkpoint", "spec": {}, "x": Evil()}, fh, protocol=2)
    with pytest.raises(ModelError):
        load_model(evil)


def test_weights_that_do_not_fit_the_spec(tmp_path):
    spec = pose_spec("t", input_size=(64, 64))
    path = save_checkpoint(tmp_path / "m.pt", build_model(spec), spec)
    data = torch.load(path, weights_only=True)
    data["spec"]["keypoint_set"] = "halpe26"  # head would need 26 channels
    torch.save(data, path)
    with pytest.raises(ModelError, match="do not match"):
        load_model(path)


def test_spec_must_be_json(tmp_path):
    spec = pose_spec("t", input_size=(64, 64))
    model = build_model(spec)
    spec["provenance"] = {"when": object()}
    with pytest.raises(ConfigError, match="JSON"):
        save_checkpoint(tmp_path / "m.pt", model, spec)
    assert not (tmp_path / "m.pt").exists()
