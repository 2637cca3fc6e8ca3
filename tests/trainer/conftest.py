"""Fixtures of the trainer tests: a small real subset of coco-mini, tiny model configs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # tiny_model.py, also for the DDP worker processes


@pytest.fixture(scope="session")
def mini_subset(shared, tmp_path_factory) -> dict:
    """The first 20 images of coco-mini/train2017 as their own keypoint annotation file."""
    root = shared / "data/coco-mini"
    coco = json.loads((root / "annotations/person_keypoints_train2017.json").read_text())
    keep = {im["id"] for im in coco["images"][:20]}
    sub = dict(coco, images=[im for im in coco["images"] if im["id"] in keep],
               annotations=[a for a in coco["annotations"] if a["image_id"] in keep])
    path = tmp_path_factory.mktemp("mini") / "subset.json"
    path.write_text(json.dumps(sub))
    return {"ann": str(path), "images": str(root / "train2017"), "persons": sum(
        1 for a in sub["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"])}


def tiny_config(subset: dict, work_dir: Path, **over) -> dict:
    """A seconds-long training config on the subset (tiny input, few iterations)."""
    cfg = {"work_dir": str(work_dir), "seed": 3,
           "data": {"train": {"ann": subset["ann"], "images": subset["images"]},
                    "val": {"ann": subset["ann"], "images": subset["images"]},
                    "workers": 0, "cache_images": True},
           "augment": {"flip": 0.5, "half_body": 0.3, "rotate": 30, "color": 0.5, "blur": 0.2, "dropout": 0.2},
           "optim": {"lr": 3e-3, "warmup_iters": 3, "weight_decay": 0.05, "grad_clip": 5.0},
           "schedule": {"epochs": 2, "batch_size": 4, "val_interval": 1, "ckpt_interval": 1, "max_iters_per_epoch": 3},
           "ema": {"enabled": True, "decay": 0.99}, "log": {"progress": False, "tensorboard": False}, "threads": 1}
    for k, v in over.items():
        cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
    return cfg
