"""CrowdPose-14, AIC-14 and MPII-16: consistent sets whose order matches the real annotation files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poselive.keypoints import get_keypoint_set
from trainer.data.datasets import load_known_format, load_mpii
from trainer.data.transforms import build_pose_pipeline

SETS = {"crowdpose14": 14, "aic14": 14, "mpii16": 16}
ALIASES = {"crowdpose": "crowdpose14", "AIC": "aic14", "ai_challenger": "aic14", "MPII": "mpii16"}


def _norm(name: str) -> str:
    """Annotation-file spelling ("Head top", "Right Shoulder") -> ours ("head_top", "right_shoulder")."""
    return name.strip().lower().replace(" ", "_")


def _connected(k: int, links) -> bool:
    reach, frontier = {0}, [0]
    while frontier:
        i = frontier.pop()
        for a, b in links:
            for u, v in ((a, b), (b, a)):
                if u == i and v not in reach:
                    reach.add(v)
                    frontier.append(v)
    return len(reach) == k


@pytest.mark.parametrize("name", sorted(SETS))
def test_set_is_consistent(name):
    kset = get_keypoint_set(name)
    kset.validate()
    k = kset.num_keypoints
    assert kset.name == name and k == SETS[name]
    perm = kset.flip_index()
    np.testing.assert_array_equal(perm[perm], np.arange(k))
    # one skeleton: every point reachable, no duplicate links, one colour per link
    assert _connected(k, kset.skeleton)
    assert len({tuple(sorted(link)) for link in kset.skeleton}) == len(kset.skeleton)
    assert len(kset.link_colors) == len(kset.skeleton)
    sig = kset.sigmas_array()
    assert sig.shape == (k,) and np.all(sig > 0) and np.all(sig < 0.2)


@pytest.mark.parametrize("name", sorted(SETS))
def test_flip_pairs_mirror_names(name):
    kset = get_keypoint_set(name)
    sides = [n for n in kset.names if n.startswith(("left_", "right_"))]
    assert len(kset.flip_pairs) * 2 == len(sides)  # every sided point has its partner
    for a, b in kset.flip_pairs:
        assert kset.names[a].startswith("left_")
        assert kset.names[b] == "right_" + kset.names[a][len("left_"):]
    # centre points mirror onto themselves
    perm = kset.flip_index()
    for i, n in enumerate(kset.names):
        if n not in sides:
            assert perm[i] == i, n


def test_published_sigmas():
    crowd, aic = get_keypoint_set("crowdpose14"), get_keypoint_set("aic14")
    coco = get_keypoint_set("coco17")
    # CrowdPose: COCO's values for the shared limb joints, 0.079 for head and neck
    for i, n in enumerate(crowd.names):
        expected = coco.sigmas[coco.names.index(n)] if n in coco.names else 0.079
        assert crowd.sigmas[i] == pytest.approx(expected), n
    # AIC: half of keypoint_eval.py's delta; the head top is the smallest, the hips the largest
    assert aic.sigmas[aic.names.index("right_shoulder")] == pytest.approx(0.01388152)
    assert aic.sigmas[aic.names.index("neck")] == pytest.approx(0.01236173)
    assert max(aic.sigmas) == aic.sigmas[aic.names.index("right_hip")]
    # MPII's approximation keeps mirror partners equal
    mpii = get_keypoint_set("mpii16")
    for a, b in mpii.flip_pairs:
        assert mpii.sigmas[a] == mpii.sigmas[b]


def test_aliases():
    for alias, name in ALIASES.items():
        assert get_keypoint_set(alias) is get_keypoint_set(name)


@pytest.mark.shared
@pytest.mark.parametrize("fmt,kset_name", [("crowdpose", "crowdpose14"), ("aic", "aic14")])
def test_names_match_the_annotation_file(shared, fmt, kset_name):
    ann = shared / f"data/mmpose-tests/{fmt}/test_{fmt}.json"
    raw = json.loads(ann.read_text())
    file_names = [_norm(n) for n in raw["categories"][0]["keypoints"]]
    kset = get_keypoint_set(kset_name)
    assert tuple(file_names) == kset.names
    # a loaded sample's point named X is the annotation's point named X, left/right included
    ds = load_known_format(fmt, ann, ann.parent)
    by_id = {a["id"]: a for a in raw["annotations"]}
    checked = 0
    for s in ds.samples:
        pts = np.asarray(by_id[s["ann_id"]]["keypoints"], np.float32).reshape(-1, 3)
        for n in ("left_shoulder", "right_shoulder", "left_hip", "right_wrist", "neck"):
            i, j = kset.names.index(n), file_names.index(n)
            if pts[j, 2] > 0:
                np.testing.assert_allclose(s["keypoints"][i], pts[j, :2])
                assert s["visible"][i] > 0
                checked += 1
        # the people in these fragments stand upright: the head is above the neck
        head = kset.names.index("head" if kset_name == "crowdpose14" else "head_top")
        neck = kset.names.index("neck")
        if s["visible"][head] and s["visible"][neck]:
            assert s["keypoints"][head, 1] < s["keypoints"][neck, 1]
    assert checked >= 5
    if kset_name == "aic14":  # AIC's files carry a 14-link, 1-based skeleton: the same links as ours
        theirs = {frozenset((file_names[a - 1], file_names[b - 1])) for a, b in raw["categories"][0]["skeleton"]}
        ours = {frozenset((kset.names[a], kset.names[b])) for a, b in kset.skeleton}
        assert theirs == ours


@pytest.mark.shared
def test_mpii_loader_on_fragment(shared):
    root = shared / "data/mmpose-tests/mpii"
    raw = json.loads((root / "test_mpii.json").read_text())
    kset = get_keypoint_set("mpii16")
    samples = load_mpii(root / "test_mpii.json", root)
    assert len(samples) == len(raw)
    for s, a in zip(samples, raw):
        assert s["keypoints"].shape == (16, 2) and s["visible"].shape == (16,)
        np.testing.assert_array_equal(s["visible"], a["joints_vis"])
        # the square box is centred on MPII's centre, 0-based and moved down by 15 * scale px
        # (the MPII convention the loader follows)
        expected = np.asarray(a["center"], np.float32) - 1 + np.array([0.0, 15.0 * a["scale"]])
        np.testing.assert_allclose((s["bbox"][:2] + s["bbox"][2:]) / 2, expected, atol=1e-3)
        # MPII marks unlabelled joints with -1 coordinates and visibility 0
        vis = s["visible"] > 0
        assert np.all(s["keypoints"][vis] >= 0) and np.all(s["keypoints"][~vis] == -1)
        # head top, upper neck, thorax, pelvis run down the body
        y = [s["keypoints"][kset.names.index(n), 1] for n in ("head_top", "upper_neck", "thorax", "pelvis")]
        assert y == sorted(y)
    spec = {"input_size": [64, 64], "codec": {"type": "simcc", "input_size": [64, 64], "split_ratio": 2.0,
                                              "sigma": [2.0, 2.0]}}
    out = build_pose_pipeline(spec, kset, train=True)(dict(samples[0]), np.random.default_rng(0))
    assert out["targets"]["simcc_x"].shape == (16, 128)


@pytest.mark.shared
def test_mpii_left_right_match_the_named_trb_annotations(shared):
    """MPII's json has no names; MPII-TRB labels the same people with named joints."""
    root = shared / "data/mmpose-tests/mpii"
    trb = json.loads((root / "test_mpii_trb.json").read_text())
    trb_names = trb["categories"][0]["keypoints"]
    files = {im["id"]: im["file_name"] for im in trb["images"]}
    kset = get_keypoint_set("mpii16")
    samples = load_mpii(root / "test_mpii.json", root)
    raw = json.loads((root / "test_mpii.json").read_text())
    shared_names = [n for n in kset.names if n in trb_names]
    assert len(shared_names) == 12  # the limb joints
    checked = 0
    for t in trb["annotations"]:
        pts = np.asarray(t["keypoints"], np.float32).reshape(-1, 3)
        match = [s for s, a in zip(samples, raw)
                 if a["image"] == files[t["image_id"]] and np.allclose(a["center"], t["center"])]
        assert len(match) == 1
        s = match[0]
        for n in shared_names:
            p = pts[trb_names.index(n)]
            i = kset.names.index(n)
            assert (p[2] > 0) == (s["visible"][i] > 0), n
            if p[2] > 0:
                np.testing.assert_allclose(s["keypoints"][i], np.asarray(p[:2]) - 1, atol=0.5)  # loader is 0-based
                checked += 1
    assert checked >= 40
