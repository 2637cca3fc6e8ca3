"""Flip test: mirroring the image and un-flipping a flip-consistent model's output gives the original."""

from __future__ import annotations

import numpy as np
import pytest

from poselive import flip
from poselive.codecs import build_codec
from poselive.keypoints import get_keypoint_set

W, H = 192, 256


def _person(kset, seed=0):
    """Integer keypoints where each left point lies at larger x than its right partner (a
    person facing the camera), so 'left' can be told from 'right' by position alone."""
    rng = np.random.default_rng(seed)
    k = kset.num_keypoints
    # 16 px from the borders: an MSRA heatmap's fractional flip shift repeats edge cells, which
    # bends the peak of points within a few cells of the border (UDP and SimCC do not).
    kpts = rng.integers([16, 16], [W - 16, H - 16], size=(k, 2)).astype(np.float32)
    for a, b in kset.flip_pairs:
        if kpts[a, 0] == kpts[b, 0]:
            kpts[a, 0] += 1
        if kpts[a, 0] < kpts[b, 0]:
            kpts[[a, b], 0] = kpts[[b, a], 0]
    return kpts


def _render(kset, kpts):
    """One image [H,W,3] uint8: keypoint i is a single pixel whose value names its mirror pair
    (partners share a value, so the image itself carries no left/right label)."""
    img = np.zeros((H, W, 3), np.uint8)
    group = {}
    for i in range(kset.num_keypoints):
        j = int(kset.flip_index()[i])
        group[i] = min(i, j) + 1
    for i, (x, y) in enumerate(kpts.astype(int)):
        img[y, x, 0] = group[i]
    return img


class OracleModel:
    """A perfect, flip-consistent pose 'model' working from the pixels alone: finds each pair's
    pixels and calls the one at larger x 'left' (the person faces the camera)."""

    def __init__(self, kset, codec):
        self.kset, self.codec = kset, codec

    def keypoints(self, img):
        out = np.zeros((self.kset.num_keypoints, 2), np.float32)
        perm = self.kset.flip_index()
        lefts = {a for a, _ in self.kset.flip_pairs}
        for i in range(self.kset.num_keypoints):
            j = int(perm[i])
            ys, xs = np.nonzero(img[:, :, 0] == min(i, j) + 1)
            pts = sorted(zip(xs.tolist(), ys.tolist()))
            if i == j:
                out[i] = pts[0]
            else:
                # pts sorted by x: the left keypoint is the one at larger x
                out[i] = pts[-1] if i in lefts else pts[0]
        return out

    def __call__(self, images_nhwc):
        kpts = np.stack([self.keypoints(im) for im in images_nhwc])
        return self.codec.encode(kpts)


@pytest.mark.parametrize("set_name", ["coco17", "halpe26", "ap10k"])
@pytest.mark.parametrize("codec_spec", [
    {"type": "simcc", "input_size": [W, H], "split_ratio": 2.0, "sigma": [4.9, 5.66]},
    {"type": "msra_heatmap", "input_size": [W, H], "heatmap_size": [48, 64], "sigma": 2.0},
    {"type": "udp_heatmap", "input_size": [W, H], "heatmap_size": [48, 64], "sigma": 2.0},
], ids=lambda s: s["type"] if isinstance(s, dict) else s)
def test_flip_test_recovers_the_original(set_name, codec_spec):
    kset = get_keypoint_set(set_name)
    codec = build_codec(codec_spec)
    model = OracleModel(kset, codec)
    kpts = _person(kset)
    images = _render(kset, kpts)[None]
    out = model(images)
    out_flipped = model(flip.flip_images(images, "nhwc"))
    shift = flip.output_flip_shift(codec.params())
    if codec_spec["type"] == "simcc":
        bx, by = flip.flip_back_simcc(out_flipped["simcc_x"], out_flipped["simcc_y"], kset, shift)
        # the shift moves one bin in at the far edge (edge value repeated): compare the rest
        np.testing.assert_allclose(bx[..., :-1], out["simcc_x"][..., :-1], atol=1e-5)
        np.testing.assert_allclose(by, out["simcc_y"], atol=1e-6)
        dec, _ = codec.decode(flip.average(out["simcc_x"], bx), flip.average(out["simcc_y"], by))
    else:
        back = flip.flip_back_heatmaps(out_flipped["heatmaps"], kset, shift)
        if codec_spec["type"] == "udp_heatmap":
            np.testing.assert_allclose(back, out["heatmaps"], atol=1e-6)
        else:  # a fractional shift is interpolated linearly: close, not identical
            assert np.abs(back - out["heatmaps"]).max() < 0.25
        dec, _ = codec.decode(flip.average(out["heatmaps"], back))
    assert np.abs(dec[0] - kpts).max() < 0.5


def test_flip_without_pairs_swap_would_be_wrong():
    """Guards the test above: not swapping partners gives a visibly different output."""
    kset = get_keypoint_set("coco17")
    codec = build_codec({"type": "udp_heatmap", "input_size": [W, H], "heatmap_size": [48, 64]})
    model = OracleModel(kset, codec)
    images = _render(kset, _person(kset, seed=1))[None]
    out = model(images)["heatmaps"]
    flipped = model(flip.flip_images(images, "nhwc"))["heatmaps"]
    no_swap = flip.flip_back_heatmaps(flipped, np.arange(17))
    assert np.abs(no_swap - out).max() > 0.5


def test_flip_keypoints_is_an_involution_and_mirrors():
    kset = get_keypoint_set("coco_wholebody133")
    rng = np.random.default_rng(2)
    kpts = rng.uniform(0, 100, (3, 133, 2)).astype(np.float32)
    scores = rng.uniform(size=(3, 133)).astype(np.float32)
    f, fs = flip.flip_keypoints(kpts, 100, kset, scores)
    perm = kset.flip_index()
    np.testing.assert_allclose(f[:, :, 0], 99 - kpts[:, perm, 0])
    np.testing.assert_array_equal(fs, scores[:, perm])
    b, bs = flip.flip_keypoints(f, 100, kset, fs)
    np.testing.assert_allclose(b, kpts, atol=1e-5)
    np.testing.assert_array_equal(bs, scores)


def test_flip_works_on_torch_tensors():
    torch = pytest.importorskip("torch")
    kset = get_keypoint_set("coco17")
    hm = torch.rand(2, 17, 8, 6)
    back = flip.flip_back_heatmaps(hm, kset, shift=0.75)
    ref = flip.flip_back_heatmaps(hm.numpy(), kset, shift=0.75)
    np.testing.assert_allclose(back.numpy(), ref, atol=1e-6)
    img = torch.arange(24.0).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(flip.flip_images(img).numpy(), flip.flip_images(img.numpy()))
