"""Training transforms: the top-down geometry round trip and horizontal flips."""

from __future__ import annotations

import numpy as np
import pytest

from poselive import geometry
from poselive.codecs import build_codec
from poselive.keypoints import get_keypoint_set
from trainer.data.transforms import (GenerateTarget, GetBBoxCenterScale, RandomBBoxTransform, RandomFlip,
                                     TopdownAffine, build_pose_pipeline, flip_input_sample)

KSET = get_keypoint_set("coco17")
INPUT = (192, 256)


def _sample(rng: np.random.Generator, image_size=(640, 480)) -> dict:
    w, h = image_size
    box = np.array([200.0, 120.0, 350.0, 320.0], np.float32)  # 150 x 200 person
    kp = np.stack([rng.uniform(box[0], box[2], 17), rng.uniform(box[1], box[3], 17)], 1).astype(np.float32)
    return {"image": np.zeros((h, w, 3), np.uint8), "bbox": box, "bbox_score": 1.0, "keypoints": kp,
            "visible": np.ones(17, np.float32), "index": 0}


@pytest.mark.parametrize("seed", range(4))
def test_keypoint_survives_original_input_output_original(seed):
    """Original -> (random shift/scale/rotation) input -> SimCC bins -> input -> original."""
    rng = np.random.default_rng(seed)
    codec = build_codec({"type": "simcc", "input_size": list(INPUT), "split_ratio": 2.0, "sigma": [4.9, 5.66]})
    s = _sample(rng)
    for t in (GetBBoxCenterScale(1.25), RandomBBoxTransform(scale_range=(0.9, 1.1), rotate_prob=1.0, rotate_factor=30),
              TopdownAffine(INPUT), GenerateTarget(codec)):
        s = t(s, rng)
    assert s["rotation"] != 0.0
    w = s["weights"] > 0
    assert w.sum() >= 10  # most points stay inside the crop
    # decode the training targets as if they were the network's output
    dec, _ = codec.decode(s["targets"]["simcc_x"][None], s["targets"]["simcc_y"][None])
    back = geometry.apply_affine(dec[0], geometry.invert_affine(s["matrix"]))
    err = np.linalg.norm(back - s["keypoints"], axis=1)[w]
    # the crop is about the box's size, so half an input bin is under 0.5 original px
    assert s["scale"][1] / INPUT[1] < 1.1
    assert err.max() <= 0.5, err.max()


def test_inference_inverse_matches_training_matrix():
    """Without rotation, the inference-side inverse (batch) equals the training matrix's inverse."""
    rng = np.random.default_rng(7)
    s = _sample(rng)
    s = GetBBoxCenterScale()(s, rng)
    s = TopdownAffine(INPUT)(s, rng)
    back = geometry.input_to_image_points_batch(s["input_keypoints"][None], s["center"][None], s["scale"][None], INPUT)
    np.testing.assert_allclose(back[0], s["keypoints"], atol=1e-3)


def _dot_image(kp: np.ndarray, colours: dict[int, tuple[int, int, int]]) -> np.ndarray:
    img = np.zeros((480, 640, 3), np.uint8)
    for i, c in colours.items():
        x, y = np.round(kp[i]).astype(int)
        img[y - 3:y + 4, x - 3:x + 4] = c
    return img


def test_flip_swaps_left_and_right_and_follows_the_pixels():
    rng = np.random.default_rng(3)
    s = _sample(rng)
    lw, rw = KSET.names.index("left_wrist"), KSET.names.index("right_wrist")
    s["keypoints"][lw] = (240, 200)
    s["keypoints"][rw] = (320, 230)
    s["image"] = _dot_image(s["keypoints"], {lw: (0, 0, 255), rw: (0, 255, 0)})
    s = GetBBoxCenterScale()(s, rng)
    s = TopdownAffine(INPUT)(s, rng)
    before = {k: s[k].copy() for k in ("input_keypoints", "image")}

    def colour_at(img, p):
        x, y = np.round(p).astype(int)
        return img[y, x]

    assert colour_at(s["image"], s["input_keypoints"][lw])[2] > 200  # red dot under the left wrist
    f = flip_input_sample(dict(s), KSET.flip_index())
    # the label called "left wrist" now sits on the (mirrored) right wrist's dot
    assert colour_at(f["image"], f["input_keypoints"][lw])[1] > 200
    assert colour_at(f["image"], f["input_keypoints"][rw])[2] > 200
    np.testing.assert_allclose(f["input_keypoints"][lw, 0], INPUT[0] - 1 - before["input_keypoints"][rw, 0])
    np.testing.assert_array_equal(f["image"], before["image"][:, ::-1])
    # every flip pair swapped, unpaired points (the nose) only mirrored
    for a, b in KSET.flip_pairs:
        np.testing.assert_allclose(f["input_keypoints"][a, 1], before["input_keypoints"][b, 1])
    np.testing.assert_allclose(f["input_keypoints"][0, 0], INPUT[0] - 1 - before["input_keypoints"][0, 0])


def test_random_flip_probability_and_determinism():
    flips = [RandomFlip(KSET, 0.5)(TopdownAffine(INPUT)(GetBBoxCenterScale()(_sample(np.random.default_rng(0)), None), None),
                                   np.random.default_rng([1, i]))["flipped"] for i in range(200)]
    assert 60 < sum(flips) < 140
    again = [RandomFlip(KSET, 0.5)(TopdownAffine(INPUT)(GetBBoxCenterScale()(_sample(np.random.default_rng(0)), None), None),
                                   np.random.default_rng([1, i]))["flipped"] for i in range(200)]
    assert flips == again


def test_full_pipeline_on_real_image(shared):
    from trainer.data.datasets import CocoKeypointDataset

    root = shared / "data/coco-mini"
    ds = CocoKeypointDataset(root / "annotations/person_keypoints_train2017.json", root / "train2017", "coco17")
    spec = {"input_size": [96, 128], "codec": {"type": "simcc", "input_size": [96, 128], "split_ratio": 2.0,
                                                "sigma": [2.4, 2.8]}}
    pipe = build_pose_pipeline(spec, KSET, {"dropout": 0.5, "half_body": 0.5}, train=True)
    out = pipe(ds[0], np.random.default_rng(0))
    assert out["inputs"].shape == (3, 128, 96) and out["inputs"].dtype == np.float32
    assert out["targets"]["simcc_x"].shape == (17, 192) and out["targets"]["simcc_y"].shape == (17, 256)
    assert abs(float(out["inputs"].mean())) < 3  # normalised, not raw 0..255
    again = pipe(ds[0], np.random.default_rng(0))
    np.testing.assert_array_equal(out["inputs"], again["inputs"])  # seeded: reproducible
