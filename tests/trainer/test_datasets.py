"""Dataset loaders on the real fragments of public datasets in shared/data/mmpose-tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.keypoints import available
from trainer.data.datasets import (KNOWN_FORMATS, LAYOUTS, CocoKeypointDataset, PersonBoxDataset,
                                   load_image_and_boxes, load_known_format, read_keypoints)
from trainer.data.transforms import build_pose_pipeline

FRAGMENTS = {  # format -> (folder, annotation file)
    "coco": ("coco", "test_coco.json"),
    "ochuman": ("ochuman", "test_ochuman.json"),
    "crowdpose": ("crowdpose", "test_crowdpose.json"),
    "aic": ("aic", "test_aic.json"),
    "halpe": ("halpe", "test_halpe.json"),
    "coco_wholebody": ("coco", "test_coco_wholebody.json"),
    "onehand10k": ("onehand10k", "test_onehand10k.json"),
    "freihand": ("freihand", "test_freihand.json"),
    "300w": ("300w", "test_300w.json"),
    "ap10k": ("ap10k", "test_ap10k.json"),
}
# Halpe's images are COCO's; the fragment keeps them in the coco folder.
IMAGE_DIRS = {"halpe": "coco"}


@pytest.mark.shared
@pytest.mark.parametrize("fmt", sorted(FRAGMENTS))
def test_loader_on_fragment(shared, fmt):
    layout, kset = KNOWN_FORMATS[fmt]
    # every known format's set is registered: a missing one is a failure, not a skip
    assert kset in available(), f"keypoint set '{kset}' is not registered in poselive.keypoints"
    folder, name = FRAGMENTS[fmt]
    root = shared / "data/mmpose-tests"
    ann = root / folder / name
    raw = json.loads(ann.read_text())
    ds = load_known_format(fmt, ann, root / IMAGE_DIRS.get(fmt, folder))
    k = ds.kset.num_keypoints
    # every kept sample has labelled points and a real box; crowd annotations are never kept
    by_id = {a["id"]: a for a in raw["annotations"]}
    assert len(ds) > 0
    for s in ds.samples:
        a = by_id[s["ann_id"]]
        assert not a.get("iscrowd", 0)
        assert s["keypoints"].shape == (k, 2) and s["visible"].sum() >= 1
        np.testing.assert_allclose(s["keypoints"], read_keypoints(a, layout, k)[:, :2])
        x, y, w, h = a["bbox"]
        np.testing.assert_allclose(s["bbox"], [x, y, x + w, y + h], rtol=1e-6)
    skipped = [a for a in raw["annotations"] if a["id"] not in {s["ann_id"] for s in ds.samples}]
    for a in skipped:  # only crowd or unlabelled persons are left out of training
        assert a.get("iscrowd", 0) or (read_keypoints(a, layout, k)[:, 2] > 0).sum() == 0
    # eval mode keeps unlabelled persons (the COCO protocol ignores them itself)
    ev = load_known_format(fmt, ann, root / IMAGE_DIRS.get(fmt, folder), mode="eval")
    assert len(ev) == sum(1 for a in raw["annotations"] if not a.get("iscrowd", 0))
    # the images resolve and go through the training pipeline
    spec = {"input_size": [64, 64], "codec": {"type": "simcc", "input_size": [64, 64], "split_ratio": 2.0,
                                              "sigma": [2.0, 2.0]}}
    out = build_pose_pipeline(spec, ds.kset, train=True)(ds[0], np.random.default_rng(0))
    assert out["targets"]["simcc_x"].shape == (k, 128)


@pytest.mark.shared
def test_halpe_keeps_the_26_body_points(shared):
    if "halpe26" not in available():
        pytest.skip("keypoint set 'halpe26' is not registered")
    ann = shared / "data/mmpose-tests/halpe/test_halpe.json"
    raw = json.loads(ann.read_text())
    assert len(raw["annotations"][0]["keypoints"]) == 136 * 3
    ds = load_known_format("halpe", ann, shared / "data/mmpose-tests/coco")
    assert ds.samples[0]["keypoints"].shape == (26, 2)


@pytest.mark.shared
def test_wrong_keypoint_set_is_explained(shared):
    ann = shared / "data/mmpose-tests/crowdpose/test_crowdpose.json"
    with pytest.raises(ConfigError, match="14 keypoints but the keypoint set has 17"):
        CocoKeypointDataset(ann, ann.parent, "coco17")


@pytest.mark.shared
def test_detection_results_make_eval_samples(shared):
    root = shared / "data/mmpose-tests/coco"
    dets = json.loads((root / "test_coco_det_AP_H_56.json").read_text())
    ds = CocoKeypointDataset(root / "test_coco.json", root, "coco17", mode="eval",
                             det_results=root / "test_coco_det_AP_H_56.json", det_score_threshold=0.5)
    assert len(ds) == sum(1 for d in dets if d["score"] >= 0.5)
    assert all(s["bbox_score"] >= 0.5 for s in ds.samples)


@pytest.mark.shared
def test_person_boxes_from_coco_and_yolo(shared):
    pool = shared / "data/pool"
    coco = PersonBoxDataset.from_coco(pool / "coco-boxes/person_boxes.json", pool / "coco-boxes/images")
    raw = json.loads((pool / "coco-boxes/person_boxes.json").read_text())
    n_boxes = sum(1 for a in raw["annotations"] if a["category_id"] == 1 and not a.get("iscrowd", 0)
                  and a["bbox"][2] > 0 and a["bbox"][3] > 0)
    assert sum(len(i["boxes"]) for i in coco.items) == n_boxes
    yolo = PersonBoxDataset.from_yolo(pool / "coco128/images", pool / "coco128/labels")
    assert len(yolo) == len(list((pool / "coco128/images").glob("*.jpg")))
    # YOLO class-0 lines become pixel boxes inside the image
    item = load_image_and_boxes(next(yolo[i] for i in range(len(yolo)) if len(yolo.items[i]["boxes_normalized"])))
    h, w = item["image"].shape[:2]
    assert (item["boxes"][:, [0, 2]] >= -1).all() and (item["boxes"][:, [0, 2]] <= w + 1).all()
    assert (item["boxes"][:, [1, 3]] <= h + 1).all()
    lines = (pool / "coco128/labels" / (item["image_id"] + ".txt")).read_text().split("\n")
    assert len(item["boxes"]) == sum(1 for line in lines if line.strip().startswith("0 "))


def test_layouts_are_consistent():
    assert set(LAYOUTS) >= {lay for lay, _ in KNOWN_FORMATS.values()}
