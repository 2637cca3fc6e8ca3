"""The shipped MoveNet-architecture pose models (poselive-pose-lightning = fast,
poselive-pose-thunder = accurate): the files load, describe themselves (spec, provenance,
recorded accuracy) and reproduce their recorded AP on coco-mini/val2017 within 0.01.

The .onnx files and cards live in poselive/assets/ (package data), the .pt checkpoints in
assets/. A missing file fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, shared_root

ASSETS = REPO / "poselive" / "assets"
CHECKPOINTS = REPO / "assets"
MODELS = {"poselive-pose-lightning": (192, "fast", "movenet-lightning.onnx"),
          "poselive-pose-thunder": (256, "accurate", "movenet-thunder.onnx")}


def _need(path: Path) -> Path:
    assert path.is_file(), f"{path.relative_to(REPO)} is not shipped"
    return path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_onnx_describes_itself(name):
    from engines.onnxruntime import OrtEngine
    from poselive.stages.adapters.base import fixed_batch

    size, _, source = MODELS[name]
    onnx = _need(ASSETS / f"{name}.onnx")
    assert onnx.stat().st_size < 15 * 2**20
    engine = OrtEngine(onnx, threads=1)
    spec = engine.spec
    assert spec["name"] == name and spec["task"] == "pose" and spec["input_size"] == [size, size]
    assert spec["codec"]["type"] == "movenet" and spec["box_padding"] == 1.0
    assert fixed_batch(engine) is None  # dynamic batch: all persons of a frame in one call
    prov = spec["provenance"]
    assert prov["imported_from"] == source and len(prov["source_sha256"]) == 64
    assert prov["license"].startswith("Apache-2.0")
    acc = prov["accuracy"]
    assert acc["data"] == "coco-mini/val2017" and acc["boxes"] == "ground truth" and 0.3 < acc["AP"] < 0.6
    card = ASSETS / f"{name}.md"
    if card.is_file():
        text = card.read_text()
        for must in ("Apache-2.0", prov["source_sha256"], f"{acc['AP']:.4f}", "License"):
            assert must in text, f"{card.name} does not mention {must!r}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_checkpoint_loads_as_float32_and_matches_onnx(name):
    torch = pytest.importorskip("torch")
    from poselive.models import load_model
    from poselive.models.export import onnx_parity, read_onnx_spec

    pt = _need(CHECKPOINTS / f"{name}.pt")
    onnx = _need(ASSETS / f"{name}.onnx")
    model, spec = load_model(pt)
    assert spec["name"] == name and all(p.dtype == torch.float32 for p in model.parameters())
    assert spec["provenance"]["accuracy"] == read_onnx_spec(onnx)["provenance"]["accuracy"]
    assert onnx_parity(model, onnx) < 1e-3


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_model_reproduces_its_recorded_ap(name):
    from poselive.models.export import read_onnx_spec
    from trainer.evaluate import evaluate

    onnx = _need(ASSETS / f"{name}.onnx")
    root = shared_root()
    if root is None:
        pytest.skip("shared data not found (set POSELIVE_SHARED)")
    coco = root / "data" / "coco-mini"
    recorded = read_onnx_spec(onnx)["provenance"]["accuracy"]["AP"]
    got = evaluate(onnx, coco / "annotations/person_keypoints_val2017.json", coco / "val2017", progress=False)
    assert abs(got["AP"] - recorded) <= 0.01, (got["AP"], recorded)
