"""Quality controls of the labeler on real teachers and a real image (basketball1.png)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poselive.labeling import Labeler, QCConfig
from poselive.labeling.qc import box_sanity


@pytest.fixture(scope="module")
def court(shared):
    """A real photo with two clearly visible basketball players."""
    image = cv2.imread(str(shared / "data" / "videos" / "basketball1.png"))
    assert image is not None
    return image


class ShiftedTeacher:
    """A corrupted second teacher: the real model, run on the image moved 25% of its width
    right, and its keypoints reported without undoing the shift."""

    def __init__(self, adapter, fraction: float = 0.25) -> None:
        self.adapter = adapter
        self.fraction = fraction

    def estimate(self, image, boxes):
        dx = int(image.shape[1] * self.fraction)
        m = np.float32([[1, 0, dx], [0, 1, 0]])
        moved = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]))
        return self.adapter.estimate(moved, boxes)


class AsymmetricTeacher:
    """A stand-in 'teacher' that ignores the pixels: every keypoint in the left third of
    its box. Its prediction on the mirror image cannot agree with the plain one."""

    def estimate(self, image, boxes):
        boxes = np.asarray(boxes, np.float32)
        rng = np.random.default_rng(0)
        u = rng.uniform(0.0, 0.3, (len(boxes), 17))
        v = rng.uniform(0.1, 0.9, (len(boxes), 17))
        w, h = boxes[:, 2:3] - boxes[:, 0:1], boxes[:, 3:4] - boxes[:, 1:2]
        kpts = np.stack([boxes[:, 0:1] + u * w, boxes[:, 1:2] + v * h], -1).astype(np.float32)
        return kpts, np.full((len(boxes), 17), 0.9, np.float32)


def test_box_sanity_rules():
    cfg = QCConfig()
    boxes = np.array([[10, 10, 110, 310],  # fine
                      [0, 0, 12, 20],  # tiny
                      [0, 0, 400, 40],  # 10:1 aspect
                      [-250, 0, 50, 300],  # mostly left of the image
                      [5, 5, 5, 50]], np.float32)  # zero width
    assert box_sanity(boxes, (640, 480), cfg) == [None, "small_box", "bad_aspect", "outside_image", "small_box"]


def test_real_teachers_accept_clear_players_and_reject_tiny_and_low_score(court, adapters):
    lab = Labeler(adapters["det"], adapters["lightning"], adapters["thunder"], flip_check=True)
    persons = lab.label(court)
    accepted = [p for p in persons if p.accepted]
    assert len(accepted) >= 2, [(p.box, p.box_score, p.reason) for p in persons]
    for p in accepted:
        assert p.agreement["teacher"] >= lab.qc.agreement_oks and p.agreement["flip"] >= lab.qc.agreement_oks
        assert p.visible.sum() >= lab.qc.min_keypoints
        # accepted keypoints lie on the person: inside the box enlarged a little
        pts = p.keypoints[p.visible]
        assert (pts[:, 0] >= p.box[0] - 0.2 * (p.box[2] - p.box[0])).all()
        assert (pts[:, 1] <= p.box[3] + 0.2 * (p.box[3] - p.box[1])).all()

    # official boxes: one real player and one tiny box -> the tiny one is rejected
    big = accepted[0].box
    tiny = np.array([300, 300, 310, 312], np.float32)
    out = Labeler(None, adapters["lightning"]).label(court, np.stack([big, tiny]))
    assert [p.reason for p in out] == [None, "small_box"]
    assert out[0].box_source == "official" and out[0].box_score == 1.0

    # the same detections with a box threshold no box reaches
    strict = Labeler(adapters["det"], adapters["lightning"], qc=QCConfig(box_score=0.99)).label(court)
    assert strict and all(p.reason == "low_box_score" for p in strict)


def test_corrupted_second_teacher_is_rejected(court, adapters):
    boxes = np.array([[34, 83, 177, 477]], np.float32)
    same = Labeler(None, adapters["lightning"], adapters["lightning"]).label(court, boxes)
    assert all(p.accepted and p.agreement["teacher"] > 0.99 for p in same)
    shifted = Labeler(None, adapters["lightning"], ShiftedTeacher(adapters["lightning"])).label(court, boxes)
    assert [p.reason for p in shifted] == ["teacher_disagreement"]
    assert all(p.agreement["teacher"] < 0.3 for p in shifted)


def test_flip_check_rejects_a_teacher_that_ignores_the_image(court, adapters):
    boxes = np.array([[34, 83, 177, 477]], np.float32)
    out = Labeler(None, AsymmetricTeacher(), flip_check=True).label(court, boxes)
    assert out[0].reason == "flip_disagreement"
    real = Labeler(None, adapters["lightning"], flip_check=True).label(court, boxes)
    assert real[0].accepted and real[0].agreement["flip"] > 0.8


def test_disagreeing_keypoints_get_v0(court, adapters):
    """A second teacher that moves one wrist far away: the person stays, that point is dropped."""
    box = np.array([[34, 83, 177, 477]], np.float32)

    class OneBadWrist:
        def estimate(self, image, boxes):
            k, s = adapters["lightning"].estimate(image, boxes)
            k = k.copy()
            k[:, 9] += 80.0  # left wrist 80 px away
            return k, s

    plain = Labeler(None, adapters["lightning"]).label(court, box)[0]
    checked = Labeler(None, adapters["lightning"], OneBadWrist()).label(court, box)[0]
    assert plain.accepted and checked.accepted
    if plain.visible[9]:
        assert not checked.visible[9]
    assert (checked.visible == (plain.visible & (np.arange(17) != 9))).all()
