"""Detector adapters and DetectorStage: the real RTMDet teacher, and a tiny raw detector."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.onnxruntime import OrtEngine
from poselive.errors import ConfigError
from poselive.geometry import box_iou
from poselive.stages import DetectorStage
from poselive.stages.adapters import End2EndDetector, RawDetector, build_detector_adapter
from poselive.types import FramePacket


@pytest.fixture(scope="module")
def rtmdet(teachers):
    return OrtEngine(teachers / "rtmdet-nano-person.onnx", threads=1)


def vtest_frame(shared, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(shared / "data" / "videos" / "vtest.avi"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok, "could not read vtest.avi"
    return frame


def check_plausible(dets, image: np.ndarray, threshold: float) -> None:
    h, w = image.shape[:2]
    b = dets.boxes
    assert b.dtype == np.float32 and b.shape == (len(dets), 4)
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all()
    assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    assert (dets.scores >= threshold).all() and (np.diff(dets.scores) <= 0).all()  # best first
    assert (dets.labels == 0).all()


def test_rtmdet_finds_messi(rtmdet, shared):
    img = cv2.imread(str(shared / "data" / "videos" / "messi5.jpg"))
    stage = DetectorStage(rtmdet, score_threshold=0.3)
    assert isinstance(stage.adapter, End2EndDetector) and stage.name == "detector"
    dets = stage(FramePacket(0, 0.0, img)).detections
    check_plausible(dets, img, 0.3)
    assert len(dets) >= 1
    # The player fills most of the frame: the best box is large and holds the centre.
    x1, y1, x2, y2 = dets.boxes[0]
    h, w = img.shape[:2]
    assert (x2 - x1) > 0.4 * w and (y2 - y1) > 0.5 * h
    assert x1 < w / 2 < x2 and y1 < h / 2 < y2


def test_rtmdet_basketball_two_players(rtmdet, shared):
    img = cv2.imread(str(shared / "data" / "videos" / "basketball1.png"))
    dets = DetectorStage(rtmdet, score_threshold=0.3)(FramePacket(0, 0.0, img)).detections
    check_plausible(dets, img, 0.3)
    assert len(dets) >= 2
    # Two people side by side: the two best boxes barely overlap and are taller than wide.
    assert box_iou(dets.boxes[:1], dets.boxes[1:2])[0, 0] < 0.2
    sizes = dets.boxes[:2, 2:] - dets.boxes[:2, :2]
    assert (sizes[:, 1] > sizes[:, 0]).all()


@pytest.mark.parametrize("index", [100, 300])
def test_rtmdet_vtest_pedestrians(rtmdet, shared, index):
    img = vtest_frame(shared, index)
    dets = DetectorStage(rtmdet, score_threshold=0.3)(FramePacket(index, index / 10, img)).detections
    check_plausible(dets, img, 0.3)
    assert len(dets) >= 3
    sizes = dets.boxes[:, 2:] - dets.boxes[:, :2]
    # Pedestrians on the square are standing: most boxes are taller than wide and small.
    assert np.mean(sizes[:, 1] > sizes[:, 0]) >= 0.7
    assert (sizes[:, 1] < 0.8 * img.shape[0]).all()


def test_max_persons_and_threshold(rtmdet, shared):
    img = vtest_frame(shared, 0)
    full = DetectorStage(rtmdet, score_threshold=0.2)(FramePacket(0, 0.0, img)).detections
    top2 = DetectorStage(rtmdet, score_threshold=0.2, max_persons=2)(FramePacket(0, 0.0, img)).detections
    assert len(full) > 2 and len(top2) == 2
    np.testing.assert_allclose(top2.scores, full.scores[:2])
    strict = DetectorStage(rtmdet, score_threshold=0.6)(FramePacket(0, 0.0, img)).detections
    assert len(strict) <= len(full) and (strict.scores >= 0.6).all()


def test_blank_image_has_no_person(rtmdet):
    img = np.full((240, 320, 3), 90, np.uint8)
    dets = DetectorStage(rtmdet)(FramePacket(0, 0.0, img)).detections
    assert len(dets) == 0 and dets.boxes.shape == (0, 4)


# --- the raw (NMS outside) detector, on a tiny model with known outputs --------------------

# Boxes in the 320x320 letterboxed input's pixels, with their scores.
RAW_BOXES = np.array([[10, 20, 110, 220],    # best
                      [12, 22, 112, 222],    # duplicate of the best: NMS removes it
                      [200, 40, 300, 140],   # a second person
                      [50, 50, 60, 60],      # below the score threshold
                      [100, 250, 200, 319]],  # in the padding below a 640x480 image
                     np.float32)
RAW_SCORES = np.array([0.9, 0.8, 0.7, 0.1, 0.95], np.float32)


@pytest.fixture(scope="module")
def raw_engine(tmp_path_factory, exporter):
    torch = pytest.importorskip("torch")

    class ConstDetector(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("boxes", torch.from_numpy(RAW_BOXES)[None])
            self.register_buffer("scores", torch.from_numpy(RAW_SCORES)[None])

        def forward(self, x):
            zero = x[:, :1, :1, :1].flatten(1) * 0  # keep the input in the graph
            return self.boxes + zero[:, :, None], self.scores + zero

    spec = {"task": "detector", "input_size": [320, 320], "outputs": ["boxes", "scores"],
            "nms": "outside", "pad_value": 114, "letterbox": "topleft"}
    path = exporter(ConstDetector(), tmp_path_factory.mktemp("raw") / "det.onnx", (1, 3, 320, 320),
                    ["boxes", "scores"], spec=spec)
    return OrtEngine(path, threads=1)


def test_raw_detector_nms_and_mapping(raw_engine):
    stage = DetectorStage(raw_engine, score_threshold=0.3)
    assert isinstance(stage.adapter, RawDetector)
    img = np.zeros((480, 640, 3), np.uint8)  # letterbox ratio 0.5, image in the top 240 rows
    dets = stage(FramePacket(0, 0.0, img)).detections
    ratio = 320 / 640
    np.testing.assert_allclose(dets.boxes, RAW_BOXES[[0, 2]] / ratio, atol=1e-4)
    np.testing.assert_allclose(dets.scores, RAW_SCORES[[0, 2]])
    one = DetectorStage(raw_engine, score_threshold=0.3, max_persons=1)(FramePacket(0, 0.0, img)).detections
    np.testing.assert_allclose(one.boxes, RAW_BOXES[[0]] / ratio, atol=1e-4)


def test_detector_adapter_selection_errors(raw_engine, teachers):
    assert isinstance(build_detector_adapter(raw_engine, "raw"), RawDetector)
    with pytest.raises(ConfigError, match="unknown detector adapter"):
        build_detector_adapter(raw_engine, "yolo")
    movenet = OrtEngine(teachers / "movenet-lightning.onnx", threads=1)
    with pytest.raises(ConfigError, match="no detector adapter fits"):
        build_detector_adapter(movenet)


def test_detector_model_given_to_the_pose_stage(raw_engine):
    from poselive.stages import PoseStage

    with pytest.raises(ConfigError, match="task 'detector'"):
        PoseStage(raw_engine)
