"""PoseStage(workers=N): a frame's crops split over concurrent engine calls give the same
keypoints as one call (shipped models, a real frame)."""

from __future__ import annotations

import av
import numpy as np

from poselive import assets
from poselive.stages import DetectorStage, PoseStage
from poselive.types import FramePacket


def test_split_crops_give_the_same_poses():
    from engines import open_engine

    with av.open(str(assets.sample_path())) as c:
        image = next(c.decode(video=0)).to_ndarray(format="bgr24")
    det = DetectorStage(open_engine(str(assets.resolve_model(None, "det")), threads=1))
    engine = open_engine(str(assets.resolve_model(None, "pose")), threads=1)
    packet = det(FramePacket(0, 0.0, image))
    assert len(packet.detections) >= 2
    one, split = PoseStage(engine), PoseStage(engine, workers=3)
    a = one(FramePacket(0, 0.0, image, detections=packet.detections)).poses
    b = split(FramePacket(0, 0.0, image, detections=packet.detections)).poses
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    split.close()
    assert split._pool is None
