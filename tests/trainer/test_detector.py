"""Detector data: augmentations keep boxes on their objects; a seconds-long training run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trainer.data.datasets import PersonBoxDataset
from trainer.data.det_transforms import DetLetterbox, DetRandomFlip, Mosaic, RandomResizeCrop

SIZE = (160, 128)


def _painted(rng: np.random.Generator, n: int = 3, size=(400, 300)) -> dict:
    """An image with n filled rectangles of distinct colours and their boxes."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    boxes = []
    for i in range(n):
        x0, y0 = rng.uniform(0, w - 80), rng.uniform(0, h - 80)
        b = np.array([x0, y0, x0 + rng.uniform(40, 80), y0 + rng.uniform(40, 80)], np.float32)
        img[int(np.ceil(b[1])):int(b[3]), int(np.ceil(b[0])):int(b[2])] = (60 * (i + 1), 255 - 60 * i, 128)
        boxes.append(b)
    return {"image": img, "boxes": np.stack(boxes), "image_path": "", "index": 0}


def _boxes_cover_paint(s: dict) -> None:
    for b in s["boxes"]:
        cx, cy = int((b[0] + b[2]) / 2), int((b[1] + b[3]) / 2)
        assert s["image"][cy, cx].any(), b  # the box centre is on a painted object, not background
        assert 0 <= b[0] < b[2] <= s["image"].shape[1] and 0 <= b[1] < b[3] <= s["image"].shape[0]


@pytest.mark.parametrize("seed", range(5))
def test_resize_crop_and_flip_keep_boxes_on_objects(seed):
    rng = np.random.default_rng(seed)
    s = _painted(rng)
    s = RandomResizeCrop(SIZE, (0.8, 1.5))(s, rng)
    assert s["image"].shape[:2] == (SIZE[1], SIZE[0])
    _boxes_cover_paint(s)
    before = s["boxes"].copy()
    s = DetRandomFlip(1.0)(s, rng)
    _boxes_cover_paint(s)
    np.testing.assert_allclose(s["boxes"][:, 0], SIZE[0] - before[:, 2])


def test_letterbox_scales_boxes():
    rng = np.random.default_rng(0)
    s = _painted(rng)
    orig = s["boxes"].copy()
    s = DetLetterbox(SIZE)(s, rng)
    np.testing.assert_allclose(s["boxes"], orig * s["ratio"], rtol=1e-5)
    _boxes_cover_paint(s)


class _Painted:
    """A dataset-like object of painted images for Mosaic."""

    def __init__(self, n: int) -> None:
        self.samples = [_painted(np.random.default_rng(100 + i)) for i in range(n)]
        self.items = self.samples

    def __len__(self) -> int:
        return len(self.samples)


def test_mosaic_tiles_four_images_and_keeps_their_boxes(monkeypatch):
    ds = _Painted(4)
    import trainer.data.det_transforms as dt

    monkeypatch.setattr(dt, "load_image_and_boxes", lambda s: dict(s))
    total = 0
    for seed in range(6):
        s = Mosaic(ds, SIZE, prob=1.0)(dict(ds.samples[0]), np.random.default_rng(seed))
        assert s["image"].shape[:2] == (SIZE[1], SIZE[0]) and s["mosaic"]
        _boxes_cover_paint(s)
        total += len(s["boxes"])
    assert total > 6  # boxes from several tiles survive the crop


@pytest.mark.shared
def test_detector_training_smoke(shared, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("poselive.models")
    from trainer.train import read_training_checkpoint, train_from_config

    pool = shared / "data/pool/coco-boxes"
    coco = json.loads((pool / "person_boxes.json").read_text())
    coco["images"] = coco["images"][:4]
    keep = {im["id"] for im in coco["images"]}
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in keep]
    ann = tmp_path / "boxes.json"
    ann.write_text(json.dumps(coco))
    cfg = {"task": "detector", "work_dir": str(tmp_path / "run"), "model": {"preset": "rtmdet-nano", "input_size": [128, 128]},
           "data": {"train": {"ann": str(ann), "images": str(pool / "images")},
                    "val": {"ann": str(ann), "images": str(pool / "images")}, "workers": 0},
           "augment": {"mosaic": 0.5}, "schedule": {"epochs": 1, "batch_size": 2, "max_iters_per_epoch": 2},
           "log": {"progress": False, "tensorboard": False}, "threads": 1}
    summary = train_from_config(cfg)
    assert summary["iterations"] == 2 and 0.0 <= summary["last"]["AP"] <= 1.0
    assert np.isfinite(summary["last"]["loss"])
    ckpt = read_training_checkpoint(tmp_path / "run/last.pth")
    assert ckpt["spec"]["task"] == "detector" and ckpt["spec"]["input_size"] == [128, 128]
    ds = PersonBoxDataset.from_coco(ann, pool / "images")
    gt = ds.to_coco()
    assert len(gt["annotations"]) == sum(len(i["boxes"]) + len(i["ignore"]) for i in ds.items)


def test_box_datasets_concatenate_with_repeat(shared):
    from poselive.errors import ConfigError
    from trainer.train import build_box_dataset

    pool = shared / "data/pool"
    coco = {"format": "coco", "ann": str(pool / "coco-boxes/person_boxes.json"), "images": str(pool / "coco-boxes/images")}
    yolo = {"format": "yolo", "images": str(pool / "coco128/images"), "labels": str(pool / "coco128/labels")}
    n_coco, n_yolo = len(build_box_dataset(coco)), len(build_box_dataset(yolo))
    both = build_box_dataset([coco, {**yolo, "repeat": 3}])
    assert len(both) == n_coco + 3 * n_yolo
    assert both.items[n_coco]["image_path"] == both.items[n_coco + n_yolo]["image_path"]
    with pytest.raises(ConfigError):
        build_box_dataset([{**coco, "repeat": 0}])


def test_finetune_keeps_bn_statistics_and_full_ema_decay(shared, tmp_path):
    """freeze_bn: BN running statistics do not move; ema.ramp 0: the EMA weights are
    decay * start + (1 - decay) * trained after one step."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("poselive.models")
    from poselive.models import build_model, preset_spec, save_checkpoint
    from trainer.train import Trainer
    from trainer.config import load_config

    spec = preset_spec("poselive-det-nano")
    spec["input_size"] = [128, 128]
    start = build_model(spec)
    save_checkpoint(tmp_path / "start.pt", start, spec)
    pool = shared / "data/pool/coco-boxes"
    cfg = load_config({"task": "detector", "work_dir": str(tmp_path / "run"), "model": {"checkpoint": str(tmp_path / "start.pt")},
                       "freeze_bn": True, "ema": {"decay": 0.9, "ramp": 0},
                       "data": {"train": [{"ann": str(pool / "person_boxes.json"), "images": str(pool / "images")}],
                                "workers": 0},
                       "augment": {"mosaic": 0.0}, "schedule": {"epochs": 1, "batch_size": 2, "max_iters_per_epoch": 1},
                       "log": {"progress": False, "tensorboard": False}, "threads": 1})
    t = Trainer(cfg)
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    t.fit()
    after = t.model.state_dict()
    stats = [k for k in before if k.endswith("running_mean") or k.endswith("running_var")]
    assert stats and all(torch.equal(before[k], after[k]) for k in stats)
    w = "backbone.stem.0.conv.weight"
    assert not torch.equal(before[w], after[w])  # it did train
    ema = t.ema.module.state_dict()[w]
    assert torch.allclose(ema, 0.9 * before[w] + 0.1 * after[w], atol=1e-6)
