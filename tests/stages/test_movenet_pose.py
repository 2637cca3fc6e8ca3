"""MoveNet adapter and PoseStage on the real teachers and real COCO images."""

from __future__ import annotations

import json
import logging

import cv2
import numpy as np
import pytest

from engines.onnxruntime import OrtEngine
from poselive.errors import ConfigError
from poselive.keypoints import get_keypoint_set
from poselive.stages import DetectorStage, PoseStage
from poselive.stages.adapters import MoveNetPose
from poselive.types import Detections, FramePacket

COCO = get_keypoint_set("coco17")
IDX = {n: i for i, n in enumerate(COCO.names)}


@pytest.fixture(scope="module")
def lightning(teachers):
    return OrtEngine(teachers / "movenet-lightning.onnx", threads=1)


@pytest.fixture(scope="module")
def messi(teachers, shared):
    """messi5.jpg and its person box from the real detector."""
    img = cv2.imread(str(shared / "data" / "videos" / "messi5.jpg"))
    det = DetectorStage(OrtEngine(teachers / "rtmdet-nano-person.onnx", threads=1))
    return img, det(FramePacket(0, 0.0, img)).detections


def test_movenet_on_messi(lightning, messi):
    img, dets = messi
    stage = PoseStage(lightning)
    assert isinstance(stage.adapter, MoveNetPose) and stage.name == "pose"
    poses = stage(FramePacket(0, 0.0, img, detections=dets.select(np.arange(1)))).poses
    assert poses.keypoints.shape == (1, 17, 2) and poses.scores.shape == (1, 17)
    kpts, scores = poses.keypoints[0], poses.scores[0]
    assert scores.mean() > 0.4
    x1, y1, x2, y2 = dets.boxes[0]
    mx, my = 0.15 * (x2 - x1), 0.15 * (y2 - y1)
    good = scores > 0.3
    assert good.sum() >= 12
    inside = ((kpts[:, 0] > x1 - mx) & (kpts[:, 0] < x2 + mx) & (kpts[:, 1] > y1 - my) & (kpts[:, 1] < y2 + my))
    assert inside[good].all()
    # He faces the camera: his left side is on the image's right; head above hips above ankles.
    for part in ("shoulder", "hip"):
        assert kpts[IDX[f"left_{part}"], 0] > kpts[IDX[f"right_{part}"], 0]
    assert kpts[IDX["nose"], 1] < kpts[IDX["left_hip"], 1] < kpts[IDX["left_ankle"], 1]
    np.testing.assert_allclose(poses.boxes, dets.boxes[:1])


def test_movenet_fixed_batch_one_call_per_person(lightning, messi, counting, caplog):
    img, dets = messi
    box = dets.boxes[0]
    boxes = np.stack([box, box + np.array([5, -3, 5, -3], np.float32)])
    engine = counting(lightning)
    adapter = MoveNetPose(engine)
    with caplog.at_level(logging.INFO, logger="poselive.stages"):
        kpts, scores = adapter.estimate(img, boxes)
    assert engine.calls == [1, 1]
    assert sum("batch size is fixed" in r.getMessage() for r in caplog.records) == 1
    single, single_scores = MoveNetPose(lightning).estimate(img, boxes[1:])
    np.testing.assert_allclose(kpts[1:], single, atol=1e-3)
    np.testing.assert_allclose(scores[1:], single_scores, atol=1e-5)


def test_pose_stage_uses_rois_and_handles_no_person(lightning, messi):
    img, dets = messi
    stage = PoseStage(lightning)
    # ROIs from the tracker win over detections.
    packet = FramePacket(0, 0.0, img, detections=Detections())
    packet.meta["rois"] = dets.boxes[:1]
    poses = stage(packet).poses
    assert len(poses) == 1 and poses.box_scores.tolist() == [1.0]
    packet = FramePacket(0, 0.0, img, detections=Detections())
    poses = stage(packet).poses
    assert len(poses) == 0 and poses.keypoints.shape == (0, 17, 2)
    with pytest.raises(ConfigError, match="neither detections"):
        stage(FramePacket(0, 0.0, img))


def oks(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, area: float) -> float:
    """COCO object keypoint similarity of one person (over labelled keypoints)."""
    var = (2 * COCO.sigmas_array()) ** 2
    d2 = ((pred - gt) ** 2).sum(-1)
    e = d2 / var / (area + np.spacing(1)) / 2
    return float(np.exp(-e)[visible].mean())


def test_movenet_lightning_oks_on_coco_val(lightning, shared):
    """End-to-end geometry: GT boxes -> crops -> MoveNet -> image px, scored by OKS."""
    root = shared / "data" / "coco-mini"
    ann = json.loads((root / "annotations" / "person_keypoints_val2017.json").read_text())
    files = {im["id"]: im["file_name"] for im in ann["images"]}
    people = [a for a in ann["annotations"]
              if not a.get("iscrowd") and a["num_keypoints"] >= 8 and a["area"] > 64 ** 2]
    people = sorted(people, key=lambda a: a["id"])[:10]
    assert len(people) >= 5
    adapter = MoveNetPose(lightning)
    values = []
    for a in people:
        img = cv2.imread(str(root / "val2017" / files[a["image_id"]]))
        x, y, w, h = a["bbox"]
        kpts, _ = adapter.estimate(img, np.array([[x, y, x + w, y + h]], np.float32))
        gt = np.asarray(a["keypoints"], np.float32).reshape(17, 3)
        values.append(oks(kpts[0], gt[:, :2], gt[:, 2] > 0, a["area"]))
    assert np.mean(values) > 0.3, values
