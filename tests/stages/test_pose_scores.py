"""Keypoint scores leave the pose stage within [0, 1], whatever the model gives (and so in the JSONL)."""

from __future__ import annotations

import numpy as np

from poselive.sinks import JsonlSink, read_jsonl
from poselive.stages import PoseStage
from poselive.types import Detections, FramePacket


class OvershootingAdapter:
    """Stands in for a heatmap model whose refined maxima exceed 1 (as DARK refinement can)."""

    def estimate(self, image, boxes):
        n = len(boxes)
        kpts = np.full((n, 17, 2), 5.0, np.float32)
        scores = np.linspace(-0.2, 1.144, 17, dtype=np.float32)[None].repeat(n, 0)
        return kpts, scores


class _Engine:
    spec = {"keypoint_set": "coco17", "task": "pose"}


def test_scores_clipped_into_the_jsonl(tmp_path):
    stage = PoseStage(_Engine(), adapter=OvershootingAdapter())
    img = np.zeros((32, 32, 3), np.uint8)
    dets = Detections(np.array([[1, 1, 20, 30]], np.float32), np.array([0.9], np.float32))
    packet = stage(FramePacket(0, 0.0, img, detections=dets))
    assert packet.poses.scores.min() == 0.0 and packet.poses.scores.max() == 1.0
    sink = JsonlSink(tmp_path / "p.jsonl", {"model": "test"})
    sink(packet)
    sink.close()
    _, frames = read_jsonl(tmp_path / "p.jsonl")
    scores = [kp[2] for person in frames[0]["persons"] for kp in person["keypoints"]]
    assert len(scores) == 17 and min(scores) >= 0.0 and max(scores) <= 1.0
