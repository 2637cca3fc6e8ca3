"""Pseudo-label quality against the official coco-mini/train2017 keypoints."""

from __future__ import annotations

import copy
import json

import numpy as np

from poselive.labeling.quality import compare_to_ground_truth


def test_quality_of_official_labels_and_of_corrupted_ones(shared):
    ann = shared / "data" / "coco-mini" / "annotations" / "person_keypoints_train2017.json"
    gt = json.loads(ann.read_text())
    perfect = compare_to_ground_truth(gt, gt)
    assert perfect["recovered"] == 1.0 and perfect["recovered_10kp"] == 1.0 and perfect["oks_mean"] == 1.0 and perfect["kpt_precision"] == 1.0
    assert perfect["gt_persons"] == sum(1 for a in gt["annotations"]
                                        if not a.get("iscrowd") and a.get("num_keypoints", 0) > 0)

    bad = copy.deepcopy(gt)
    rng = np.random.default_rng(0)
    kept = []
    people = [a for a in bad["annotations"] if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd")]
    for i, a in enumerate(people):
        if i % 2:  # half the persons are missing from the pseudo-labels
            continue
        kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 0.1 * np.sqrt(max(a["area"], 1.0)), (len(kp), 2)) * (kp[:, 2:] > 0)
        a["keypoints"] = kp.ravel().tolist()
        kept.append(a)
    bad["annotations"] = kept
    q = compare_to_ground_truth(bad, gt)
    assert 0.3 < q["recovered"] < 0.7
    assert q["precision"] == 1.0
    assert 0.0 < q["oks_mean"] < 0.9
