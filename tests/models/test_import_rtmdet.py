"""Importing RTMDet-nano (MMDeploy end2end ONNX) into a poselive-det-nano checkpoint:
the imported PyTorch model keeps the source's persons and boxes on real images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from poselive.errors import ModelError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SOURCE_MD5 = "494c2aaa71def4e6170f57db08b4b53b"  # shared/README.md


@pytest.fixture(scope="module")
def imported(teachers, tmp_path_factory):
    """The teacher imported and saved as a checkpoint (what `poselive import` writes)."""
    from poselive.models import save_checkpoint
    from poselive.models.importers import rtmdet

    torch.set_num_threads(1)
    out = rtmdet.import_model(teachers / "rtmdet-nano-person.onnx")
    path = tmp_path_factory.mktemp("imported") / "rtmdet-nano.pt"
    save_checkpoint(path, out["model"], out["spec"])
    return path, out


def test_spec_carries_nms_settings_and_provenance(imported):
    _, out = imported
    spec = out["spec"]
    assert spec["task"] == "detector" and spec["name"] == "poselive-det-nano"
    # the values MMDeploy wrote into the graph's NMS / TopK nodes
    assert (spec["nms_iou"], spec["nms_score_threshold"]) == (0.6, 0.05)
    assert spec["pre_nms_top_k"] == 5000 and spec["max_detections"] == 100
    prov = spec["provenance"]
    assert prov["imported_from"] == "rtmdet-nano-person.onnx" and prov["license"] == "Apache-2.0"
    assert prov["source_md5"] == SOURCE_MD5 and len(prov["source_sha256"]) == 64
    assert out["report"]["convolutions"] == 123


def test_imported_checkpoint_reloads_trains_and_exports(imported, tmp_path):
    """The checkpoint is an ordinary poselive model: load_model, a training step, ONNX export."""
    from poselive.models import load_model
    from poselive.models.export import export_onnx, onnx_parity

    path, _ = imported
    model, spec = load_model(path, expect_task="detector")
    x = torch.randn(2, 3, 320, 320)
    with torch.no_grad():
        ref = model(x)
    onnx_path = export_onnx(model, tmp_path / "det.onnx", spec=spec)
    assert onnx_parity(model, onnx_path) < 1e-3
    model.train()
    out = model.forward_train(x)
    loss = model.loss(out, [torch.tensor([[40.0, 30.0, 120.0, 250.0]]), torch.zeros(0, 4)])["loss"]
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert ref[0].shape == (2, 2100, 4)


def _val_images(shared, n=None):
    d = shared / "data" / "coco-mini" / "val2017"
    return sorted(d.glob("*.jpg"))[:n]


def test_parity_with_source_on_real_images(imported, teachers, shared):
    """Every coco-mini val image: the same persons kept at the pipeline's threshold (0.3),
    boxes within 0.5 px in original-image pixels, scores within 1e-3."""
    import cv2

    from engines import open_engine
    from poselive.stages.adapters.end2end_detector import End2EndDetector
    from poselive.stages.adapters.raw_detector import RawDetector

    path, _ = imported
    src = End2EndDetector(open_engine(teachers / "rtmdet-nano-person.onnx", threads=1), score_threshold=0.3)
    ours = RawDetector(open_engine(path, backend="torch", threads=1), score_threshold=0.3)
    persons, worst_box, worst_score = 0, 0.0, 0.0
    for p in _val_images(shared):
        img = cv2.imread(str(p))
        a, b = src.detect(img), ours.detect(img)
        assert len(a.boxes) == len(b.boxes), f"{p.name}: source keeps {len(a.boxes)} persons, import {len(b.boxes)}"
        if len(a.boxes):
            worst_box = max(worst_box, float(np.abs(a.boxes - b.boxes).max()))
            worst_score = max(worst_score, float(np.abs(a.scores - b.scores).max()))
        persons += len(a.boxes)
    assert persons > 50  # the check saw real detections (86 persons at 0.3)
    assert worst_box < 0.5 and worst_score < 1e-3, (worst_box, worst_score)


def test_box_ap_reproduces_source(imported, teachers, shared, tmp_path):
    """pycocotools-protocol box AP on coco-mini/val2017: the import within 0.005 of the source."""
    from engines.build import build
    from trainer.evaluate import evaluate_detector

    ann = shared / "data" / "coco-mini" / "annotations" / "instances_val2017.json"
    images = shared / "data" / "coco-mini" / "val2017"
    path, _ = imported
    built = build(path, backend="onnxruntime", out_dir=tmp_path)
    ap_src = evaluate_detector(teachers / "rtmdet-nano-person.onnx", ann, images, progress=False)["AP"]
    ap_ours = evaluate_detector(built, ann, images, progress=False)["AP"]
    assert abs(ap_src - 0.3256) < 0.002
    assert abs(ap_ours - ap_src) <= 0.005, (ap_ours, ap_src)


@pytest.mark.parametrize("kind", ["text", "pose_model"])
def test_foreign_file_is_refused_with_one_line(kind, tmp_path, teachers):
    from poselive.models.importers import rtmdet

    bad = tmp_path / "bad.onnx"
    if kind == "text":
        bad.write_text("not a model\n")
    else:
        bad = teachers / "movenet-lightning.onnx"
    with pytest.raises(ModelError) as err:
        rtmdet.import_model(bad)
    msg = str(err.value)
    assert "\n" not in msg and bad.name in msg and "MMDeploy" in msg
