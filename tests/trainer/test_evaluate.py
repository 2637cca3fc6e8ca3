"""``evaluate``: real teacher models on real images, AP checked against pycocotools."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from poselive.evaluation import auc, epe, nme, pck_accuracy
from trainer.evaluate import evaluate, evaluate_detector

pytestmark = pytest.mark.shared


def _subset(shared, tmp_path, n: int, name: str = "person_keypoints_val2017.json"):
    coco = json.loads((shared / "data/coco-mini/annotations" / name).read_text())
    # images with at least one labelled person, so the subset's AP is defined
    ids = []
    for im in coco["images"]:
        if any(a["image_id"] == im["id"] and a.get("num_keypoints", 1) > 0 for a in coco["annotations"]):
            ids.append(im["id"])
        if len(ids) == n:
            break
    sub = dict(coco, images=[im for im in coco["images"] if im["id"] in ids],
               annotations=[a for a in coco["annotations"] if a["image_id"] in ids])
    p = tmp_path / name
    p.write_text(json.dumps(sub))
    return p


def _pycoco(ann, results, iou_type, cat_ids=None):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann))
        ev = COCOeval(gt, gt.loadRes(results), iou_type)
        if cat_ids:
            ev.params.catIds = cat_ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_movenet_lightning_ap_matches_pycocotools(shared, teachers, tmp_path):
    ann = _subset(shared, tmp_path, 8)
    out = tmp_path / "res.json"
    res = evaluate(teachers / "movenet-lightning.onnx", ann, shared / "data/coco-mini/val2017",
                   out_json=out, progress=False)
    results = json.loads(out.with_suffix(".results.json").read_text())
    assert json.loads(out.read_text())["AP"] == res["AP"]
    stats = _pycoco(ann, results, "keypoints")
    for i, name in enumerate(["AP", "AP50", "AP75", "APm", "APl", "AR"]):
        assert abs(res[name] - stats[i]) < 1e-4, name
    assert 0.1 < res["AP"] < 0.9  # a real pose model on real people: neither broken nor perfect
    # flip test runs the model on the mirror image too and stays a sane pose estimate
    flipped = evaluate(teachers / "movenet-lightning.onnx", ann, shared / "data/coco-mini/val2017",
                       flip_test=True, progress=False)
    assert abs(flipped["AP"] - res["AP"]) < 0.15 and flipped["AP"] != res["AP"]


def test_rtmdet_person_box_ap_matches_pycocotools(shared, teachers, tmp_path):
    ann = _subset(shared, tmp_path, 10, "instances_val2017.json")
    res = evaluate_detector(teachers / "rtmdet-nano-person.onnx", ann, shared / "data/coco-mini/val2017",
                            out_json=tmp_path / "det.json", progress=False)
    from trainer.evaluate import detect_dataset
    from engines import open_engine
    from poselive.stages.adapters import build_detector_adapter

    det = build_detector_adapter(open_engine(teachers / "rtmdet-nano-person.onnx"), score_threshold=0.001)
    results = detect_dataset(det.detect, json.loads(ann.read_text()), shared / "data/coco-mini/val2017")
    stats = _pycoco(ann, results, "bbox", cat_ids=[1])
    assert abs(res["AP"] - stats[0]) < 1e-4 and abs(res["AR100"] - stats[8]) < 1e-4
    assert 0.1 < res["AP"] < 0.9


def test_distance_metrics_on_known_errors():
    gt = np.zeros((2, 3, 2))
    pred = gt.copy()
    pred[0, 0] = (3, 4)  # 5 px off
    pred[1, 2] = (0, 1)  # 1 px off
    mask = np.ones((2, 3), bool)
    mask[1, 1] = False
    assert epe(pred, gt, mask) == pytest.approx(6 / 5)
    acc, mean, n = pck_accuracy(pred, gt, mask, 0.2, np.full((2, 1), 10.0))  # 2 px threshold
    np.testing.assert_allclose(acc, [0.5, 1.0, 1.0])  # only the 5 px error is beyond 2 px
    assert mean == pytest.approx(2.5 / 3) and n == 3
    assert nme(pred, gt, mask, np.array([5.0, 1.0])) == pytest.approx(((5 / 5) / 3 + (1 / 1) / 2) / 2)
    a = auc(pred, gt, mask, norm_factor=10.0, num_thresholds=20)
    assert 0.0 < a < 1.0
    assert auc(gt, gt, mask, 10.0) == pytest.approx(0.95)  # perfect except the zero threshold


def test_detection_boxes_with_oks_nms(shared, teachers, tmp_path):
    """Duplicate detections of a person are suppressed, so they cost no precision."""
    ann = _subset(shared, tmp_path, 4)
    coco = json.loads(ann.read_text())
    dets = []
    for a in coco["annotations"]:
        if a["iscrowd"]:
            continue
        x, y, w, h = a["bbox"]
        dets.append({"image_id": a["image_id"], "category_id": 1, "bbox": [x, y, w, h], "score": 0.9})
        dets.append({"image_id": a["image_id"], "category_id": 1, "bbox": [x + 1, y + 1, w, h], "score": 0.8})
    det_path = tmp_path / "dets.json"
    det_path.write_text(json.dumps(dets))
    from trainer.evaluate import evaluate_estimator
    from trainer.predict import open_pose_predictor

    est, _ = open_pose_predictor(teachers / "movenet-lightning.onnx")
    images = shared / "data/coco-mini/val2017"
    m_nms, r_nms = evaluate_estimator(est, ann, images, det_results=det_path)
    m_raw, r_raw = evaluate_estimator(est, ann, images, det_results=det_path, oks_nms_threshold=None)
    assert len(r_raw) == len(dets) and len(dets) // 2 <= len(r_nms) < len(dets)
    assert m_nms["AP"] >= m_raw["AP"]
