"""Ignore regions in detector training images: greyed out, except where a person box is."""

from __future__ import annotations

import numpy as np

from trainer.data.det_transforms import PAD, build_detector_pipeline, paint_ignore


def test_ignore_region_is_painted_but_person_pixels_are_kept():
    img = np.full((100, 120, 3), 7, np.uint8)
    s = {"image": img, "boxes": np.array([[10, 10, 40, 60]], np.float32),
         "ignore": np.array([[30, 20, 90, 80]], np.float32)}
    out = paint_ignore(dict(s))["image"]
    assert (out[20:80, 40:90] == PAD).all()  # the ignore box outside the person box
    assert (out[10:60, 10:40] == 7).all()  # the person box, even where it overlaps
    assert (out[:20] == 7).all() and (out[80:] == 7).all() and (out[:, 90:] == 7).all()
    assert (img == 7).all()  # the input array is not modified


def test_no_ignore_regions_leaves_the_image_alone():
    img = np.zeros((10, 10, 3), np.uint8)
    s = paint_ignore({"image": img, "boxes": np.zeros((0, 4), np.float32)})
    assert s["image"] is img


def test_train_pipeline_paints_and_eval_pipeline_does_not(tmp_path):
    import cv2

    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), 200, np.uint8))
    spec = {"input_size": [64, 64]}
    item = {"image_path": str(path), "boxes": np.zeros((0, 4), np.float32),
            "ignore": np.array([[0, 0, 32, 64]], np.float32)}
    aug = {"mosaic": 0.0, "scale": [1.0, 1.0], "flip": 0.0, "color": 0.0}
    rng = np.random.default_rng(0)
    train = build_detector_pipeline(spec, [item], aug, train=True).transforms[0]
    ev = build_detector_pipeline(spec, [item], aug, train=False).transforms[0]
    assert (train(dict(item), rng)["image"][:, :32] == PAD).all()
    assert (ev(dict(item), rng)["image"] == 200).all()
    off = build_detector_pipeline(spec, [item], dict(aug, paint_ignore=False), train=True).transforms[0]
    assert (off(dict(item), rng)["image"] == 200).all()
