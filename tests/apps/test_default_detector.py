"""The shipped default detector (RTMDet-nano imported, fine-tuned by poselive's trainer): it
loads, describes itself, and keeps the box AP that docs/default-models.md ("Detector") records.

The ONNX file is package data (poselive/assets/); the checkpoint stays in the repository's assets/."""

from __future__ import annotations

from pathlib import Path

import pytest

from poselive import assets

REPO = Path(__file__).resolve().parents[2]
ONNX = assets.asset_dir() / "poselive-det-nano.onnx"  # package data
CHECKPOINT = REPO / "assets" / "poselive-det-nano.pt"  # checkpoints stay out of the package
# coco-mini/val2017 person-box AP recorded for the shipped file (docs/default-models.md,
# benchmarks/default_detector.py); the margin covers ONNX Runtime builds, not a worse model.
RECORDED_BOX_AP = 0.3485
SOURCE_SHA256 = "b8585adb6d1352796f6e86337e09c3459b830645a7e7192d9381670bea2facbd"


def _shipped(path: Path) -> Path:
    """``path``, checked to hold the shipped detector: RTMDet-nano imported, then fine-tuned."""
    assert path.is_file(), f"{path} is not shipped"
    if path.suffix == ".onnx":
        from poselive.models.export import read_onnx_spec

        prov = read_onnx_spec(path).get("provenance") or {}
    else:
        pytest.importorskip("torch")
        from poselive.models import read_checkpoint

        prov = read_checkpoint(path)["spec"].get("provenance") or {}
    assert prov.get("imported_from") == "rtmdet-nano-person.onnx", f"{path.name} is not the imported detector"
    return path


def test_shipped_detector_describes_itself():
    from engines.onnxruntime import OrtEngine

    spec = OrtEngine(_shipped(ONNX), threads=1).spec
    assert spec["task"] == "detector" and spec["name"] == "poselive-det-nano" and spec["input_size"] == [320, 320]
    assert spec["outputs"] == ["boxes", "scores"] and spec["nms"] == "outside"
    assert (spec["nms_iou"], spec["nms_score_threshold"], spec["max_detections"]) == (0.6, 0.05, 100)
    prov = spec["provenance"]
    assert prov["imported_from"] == "rtmdet-nano-person.onnx" and prov["license"] == "Apache-2.0"
    assert prov["source_sha256"] == SOURCE_SHA256
    assert prov["trainer"] == "poselive.trainer" and prov["epochs_trained"] > 0
    command = prov["release"]["training_command"]
    assert command.startswith("poselive train configs/") and (REPO / command.split()[2]).is_file()


def test_shipped_detector_checkpoint_matches_its_onnx():
    pytest.importorskip("torch")
    from poselive.models import load_model
    from poselive.models.export import onnx_parity

    model, spec = load_model(_shipped(CHECKPOINT), expect_task="detector")
    assert spec["name"] == "poselive-det-nano"
    assert onnx_parity(model, _shipped(ONNX)) < 1e-3


def test_shipped_detector_reproduces_recorded_box_ap(shared):
    from trainer.evaluate import evaluate_detector

    onnx = _shipped(ONNX)
    d = shared / "data" / "coco-mini"
    m = evaluate_detector(onnx, d / "annotations" / "instances_val2017.json", d / "val2017", progress=False)
    assert abs(m["AP"] - RECORDED_BOX_AP) <= 0.01, m["AP"]
