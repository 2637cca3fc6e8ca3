"""Every registered keypoint set is consistent; the published numbers are where they belong."""

from __future__ import annotations

import numpy as np
import pytest

from poselive.errors import ConfigError
from poselive.keypoints import available, get_keypoint_set

EXPECTED = {"coco17": 17, "halpe26": 26, "coco_wholebody133": 133, "hand21": 21,
            "face68": 68, "ap10k": 17}


def test_all_sets_registered():
    assert set(EXPECTED) <= set(available())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_set_is_consistent(name):
    kset = get_keypoint_set(name)
    kset.validate()
    k = kset.num_keypoints
    assert k == EXPECTED[name]
    # flip index is an involution: mirroring twice is the identity
    perm = kset.flip_index()
    np.testing.assert_array_equal(perm[perm], np.arange(k))
    # skeleton in range, no self links, no duplicate links
    links = {tuple(sorted(l)) for l in kset.skeleton}
    assert len(links) == len(kset.skeleton)
    assert all(0 <= a < k and 0 <= b < k for a, b in kset.skeleton)
    # sigmas present and plausible (fractions of object scale)
    sig = kset.sigmas_array()
    assert sig.shape == (k,) and np.all(sig > 0) and np.all(sig < 0.2)
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in kset.colors)
    assert len(kset.link_colors) in (0, len(kset.skeleton))
    # Mirror partners get equal sigmas in COCO and Halpe. (AP-10K's published list is COCO's
    # copied in AP-10K index order, and WholeBody's feet/face sigmas were measured per point,
    # so those are not symmetric; the published values are kept as they are.)
    if name in ("coco17", "halpe26"):
        for a, b in kset.flip_pairs:
            assert kset.sigmas[a] == pytest.approx(kset.sigmas[b]), (name, kset.names[a], kset.names[b])


@pytest.mark.parametrize("name", ["coco17", "halpe26", "coco_wholebody133", "ap10k"])
def test_left_right_names_pair_up(name):
    kset = get_keypoint_set(name)
    for a, b in kset.flip_pairs:
        na, nb = kset.names[a], kset.names[b]
        if na.startswith("left"):
            assert nb == "right" + na[4:], (na, nb)
    lefts = [n for n in kset.names if n.startswith("left_")]
    assert len(lefts) == sum(1 for a, _ in kset.flip_pairs if kset.names[a].startswith("left_"))


def test_wholebody_parts_match_their_own_sets():
    wb = get_keypoint_set("coco_wholebody133")
    coco, face, hand = (get_keypoint_set(n) for n in ("coco17", "face68", "hand21"))
    assert wb.names[:17] == coco.names and wb.sigmas[:17] == coco.sigmas
    assert wb.sigmas[23:91] == face.sigmas
    assert wb.sigmas[91:112] == hand.sigmas and wb.sigmas[112:133] == hand.sigmas
    # face flip pairs are the face set's pairs shifted by 23
    face_pairs = {(a - 23, b - 23) for a, b in wb.flip_pairs if a >= 23 and b < 91}
    assert face_pairs == set(face.flip_pairs)
    # left hand i <-> right hand i
    perm = wb.flip_index()
    np.testing.assert_array_equal(perm[91:112], np.arange(112, 133))


def test_published_sigmas_spot_checks():
    assert get_keypoint_set("halpe26").sigmas[17:20] == (0.026, 0.026, 0.066)
    assert get_keypoint_set("coco_wholebody133").sigmas[17:23] == (0.068, 0.066, 0.066, 0.092, 0.094, 0.094)
    assert get_keypoint_set("ap10k").sigmas[:3] == (0.025, 0.025, 0.026)
    face = get_keypoint_set("face68")
    assert face.flip_index()[36] == 45 and face.flip_index()[8] == 8


def test_aliases_and_unknown():
    assert get_keypoint_set("Halpe").name == "halpe26"
    assert get_keypoint_set("wholebody").name == "coco_wholebody133"
    with pytest.raises(ConfigError, match="known"):
        get_keypoint_set("no-such-set")
