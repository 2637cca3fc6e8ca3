"""Our numpy COCO evaluation against pycocotools on the same predictions."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from poselive.evaluation import box_ap, keypoint_ap
from poselive.keypoints import get_keypoint_set

pycocotools = pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def _pycoco(gt_path, results, iou_type, sigmas=None, cat_ids=None):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iou_type)
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        if cat_ids is not None:
            ev.params.catIds = list(cat_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def _perturbed_keypoints(gt: dict, seed: int, num_kpts: int) -> list[dict]:
    """Noisy copies of GT poses, a few made-up false positives, scores at random."""
    rng = np.random.default_rng(seed)
    res = []
    for a in gt["annotations"]:
        kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        x, y, w, h = a["bbox"]
        if rng.random() < 0.15:
            continue  # a miss
        base = kp[:, :2].copy()
        unl = kp[:, 2] == 0
        base[unl] = np.array([x + w / 2, y + h / 2]) + rng.normal(0, 0.2, (unl.sum(), 2)) * [w, h]
        noise = rng.normal(0, 1, base.shape) * max(w, h) * rng.choice([0.01, 0.04, 0.1])
        pred = np.concatenate([base + noise, rng.random((num_kpts, 1))], 1)
        res.append({"image_id": a["image_id"], "category_id": 1, "keypoints": pred.ravel().tolist(),
                    "score": float(rng.random())})
        if rng.random() < 0.2:  # duplicate / false positive
            fp = pred.copy()
            fp[:, :2] += rng.normal(0, 30, (num_kpts, 2))
            res.append({"image_id": a["image_id"], "category_id": 1, "keypoints": fp.ravel().tolist(),
                        "score": float(rng.random())})
    return res


def _check(ours: dict, theirs, names):
    for name, v in zip(names, theirs):
        assert abs(ours[name] - v) < 1e-4, (name, ours[name], v)


KP_NAMES = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
BOX_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


@pytest.mark.shared
@pytest.mark.parametrize("seed", [0, 1])
def test_keypoint_ap_matches_pycocotools_on_coco_mini(shared, seed):
    gt_path = shared / "data/coco-mini/annotations/person_keypoints_val2017.json"
    gt = json.loads(gt_path.read_text())
    sig = get_keypoint_set("coco17").sigmas_array()
    res = _perturbed_keypoints(gt, seed, 17)
    ours = keypoint_ap(gt, res, sig)
    theirs = _pycoco(gt_path, res, "keypoints", sig)
    _check(ours, theirs, KP_NAMES)
    assert 0.05 < ours["AP"] < 0.95  # the test exercises a non-trivial regime


@pytest.mark.shared
def test_keypoint_ap_matches_pycocotools_on_mmpose_coco_fragment(shared):
    gt_path = shared / "data/mmpose-tests/coco/test_coco.json"
    gt = json.loads(gt_path.read_text())
    sig = get_keypoint_set("coco17").sigmas_array()
    res = _perturbed_keypoints(gt, 3, 17)
    _check(keypoint_ap(gt, res, sig), _pycoco(gt_path, res, "keypoints", sig), KP_NAMES)


@pytest.mark.shared
def test_perfect_predictions_give_ap_one(shared):
    gt_path = shared / "data/coco-mini/annotations/person_keypoints_val2017.json"
    gt = json.loads(gt_path.read_text())
    res = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
           for a in gt["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]
    assert keypoint_ap(gt, res, get_keypoint_set("coco17").sigmas)["AP"] == pytest.approx(1.0)


@pytest.mark.shared
def test_box_ap_matches_pycocotools(shared):
    gt_path = shared / "data/coco-mini/annotations/instances_val2017.json"
    gt = json.loads(gt_path.read_text())
    rng = np.random.default_rng(5)
    res = []
    for a in gt["annotations"]:
        if a["category_id"] != 1 or rng.random() < 0.1:
            continue
        x, y, w, h = a["bbox"]
        j = rng.normal(0, 0.08, 4) * [w, h, w, h]
        res.append({"image_id": a["image_id"], "category_id": 1,
                    "bbox": [x + j[0], y + j[1], max(1, w + j[2]), max(1, h + j[3])], "score": float(rng.random())})
        if rng.random() < 0.3:
            res.append({"image_id": a["image_id"], "category_id": 1,
                        "bbox": [x + w * 0.3, y, w, h * 0.7], "score": float(rng.random())})
    ours = box_ap(gt, res)
    _check(ours, _pycoco(gt_path, res, "bbox", cat_ids=[1]), BOX_NAMES)
    assert 0.1 < ours["AP"] < 0.95


def test_oks_nms_drops_duplicate_poses_only():
    from poselive.evaluation import oks_nms

    rng = np.random.default_rng(0)
    a = rng.uniform(100, 300, (17, 2))
    poses = np.stack([a, a + 0.5, a + 150.0])  # a near-duplicate of the first, and someone else
    keep = oks_nms(poses, [0.8, 0.9, 0.5], [200.0 * 200.0] * 3, get_keypoint_set("coco17").sigmas)
    assert keep.tolist() == [1, 2]  # the better-scored duplicate survives, the other person too
