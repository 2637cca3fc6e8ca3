"""SimCC and heatmap adapters on tiny real ONNX models whose output peaks are known.

The models report, for each colour channel k, where channel k of the crop is brightest:
keypoint 0 finds the red dot, 1 the green one, 2 the blue one. The test image has one
dot of each colour per person, so the right answer in original-image pixels is known
exactly and the whole crop -> normalise -> engine -> decode -> map-back chain is checked.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engines.onnxruntime import OrtEngine  # noqa: E402
from poselive import codecs  # noqa: E402
from poselive.errors import ConfigError  # noqa: E402
from poselive.geometry import (box_xyxy_to_center_scale, crop_image_to_input,  # noqa: E402
                               fix_aspect_ratio, input_to_image_points)
from poselive.stages import PoseStage  # noqa: E402
from poselive.stages.adapters import HeatmapPose, SimCCPose, build_pose_adapter  # noqa: E402
from poselive.types import Detections, FramePacket  # noqa: E402

IN_W, IN_H = 192, 256
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


class PeakSimCC(torch.nn.Module):
    """simcc_x[b,k] = column maxima of channel k, each bin doubled (split ratio 2)."""

    def forward(self, x):
        cx = x.amax(dim=2)
        cy = x.amax(dim=3)
        return torch.stack([cx, cx], -1).flatten(2), torch.stack([cy, cy], -1).flatten(2)


class PeakHeatmap(torch.nn.Module):
    """heatmaps = 4x4 average pooling of each channel (stride 4)."""

    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x, 4)


class ArgmaxStrideCodec:
    """A test codec with the heatmap codecs' decode signature: argmax cell centre * stride."""

    def __init__(self, stride: int = 4) -> None:
        self.stride = stride

    def decode(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k, h, w = heatmaps.shape
        flat = heatmaps.reshape(n, k, -1)
        idx = flat.argmax(-1)
        xy = np.stack([idx % w, idx // w], -1).astype(np.float32)
        return (xy + 0.5) * self.stride - 0.5, flat.max(-1)


# Three persons far enough apart that no crop reaches another person's dots, of
# different sizes so the scale of the mapping back is exercised too.
BOXES = np.array([[30, 60, 150, 300], [250, 40, 390, 440], [470, 150, 590, 330]], np.float32)


def dot_image() -> tuple[np.ndarray, np.ndarray]:
    """A black 640x480 BGR image with a red, green and blue blob inside each box."""
    img = np.zeros((480, 640, 3), np.float32)
    yy, xx = np.mgrid[0:480, 0:640]
    rng = np.random.default_rng(0)
    points = np.zeros((len(BOXES), 3, 2), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(BOXES):
        for k in range(3):  # k: 0 red, 1 green, 2 blue (RGB order, as keypoints)
            p = np.array([rng.integers(x1 + 10, x2 - 10), rng.integers(y1 + 10, y2 - 10)])
            points[i, k] = p
            blob = 255.0 * np.exp(-((xx - p[0]) ** 2 + (yy - p[1]) ** 2) / (2 * 2.5 ** 2))
            img[..., 2 - k] = np.maximum(img[..., 2 - k], blob)  # BGR channel of RGB index k
    return img.round().astype(np.uint8), points


def crop_px_in_image() -> np.ndarray:
    """Size in image pixels of one model-input pixel, per person."""
    _, scales = box_xyxy_to_center_scale(BOXES, 1.25)
    return fix_aspect_ratio(scales, IN_W / IN_H)[:, 0] / IN_W


@pytest.fixture(scope="module")
def simcc_paths(tmp_path_factory, exporter):
    d = tmp_path_factory.mktemp("simcc")
    names = ["simcc_x", "simcc_y"]
    return {
        "dynamic": exporter(PeakSimCC(), d / "dyn.onnx", (1, 3, IN_H, IN_W), names),
        "fixed1": exporter(PeakSimCC(), d / "fixed1.onnx", (1, 3, IN_H, IN_W), names, dynamic_batch=False),
        "fixed2": exporter(PeakSimCC(), d / "fixed2.onnx", (2, 3, IN_H, IN_W), names, dynamic_batch=False),
        "bgr": exporter(PeakSimCC(), d / "bgr.onnx", (1, 3, IN_H, IN_W), names, spec={
            "task": "pose", "input_size": [IN_W, IN_H], "channel_order": "bgr", "keypoint_set": "coco17",
            "mean": [0, 0, 0], "std": [1, 1, 1], "outputs": names,
            "codec": {"type": "simcc", "input_size": [IN_W, IN_H], "split_ratio": 2.0}}),
    }


def test_simcc_batched_keypoints_land_on_the_dots(simcc_paths, counting):
    img, points = dot_image()
    engine = counting(OrtEngine(simcc_paths["dynamic"], threads=1))
    adapter = build_pose_adapter(engine)
    assert isinstance(adapter, SimCCPose)
    kpts, scores = adapter.estimate(img, BOXES)
    assert engine.calls == [3]  # all persons of the frame in one engine call
    assert kpts.shape == (3, 3, 2) and scores.shape == (3, 3)
    err = np.linalg.norm(kpts - points, axis=-1)
    # Decoding is exact to one input pixel; in image pixels that is the crop's scale.
    assert (err <= crop_px_in_image()[:, None] + 0.25).all(), err
    # Score = the peak's normalised intensity, positive and alike for all dots.
    assert (scores > 1.5).all()


def test_simcc_matches_per_person_reference(simcc_paths):
    """Batched adapter == an independent per-person crop/argmax/map-back computation."""
    img, _ = dot_image()
    kpts, scores = SimCCPose(OrtEngine(simcc_paths["dynamic"], threads=1)).estimate(img, BOXES)
    centers, scales = box_xyxy_to_center_scale(BOXES, 1.25)
    scales = fix_aspect_ratio(scales, IN_W / IN_H)
    for i in range(len(BOXES)):
        crop = crop_image_to_input(img, centers[i], scales[i], (IN_W, IN_H))
        norm = (crop[..., ::-1].astype(np.float32) - MEAN) / STD  # RGB, normalised
        col = norm.max(axis=0)  # [W, 3]
        row = norm.max(axis=1)  # [H, 3]
        ref_in = np.stack([col.argmax(0), row.argmax(0)], -1).astype(np.float32)  # [3, 2]
        ref = input_to_image_points(ref_in, centers[i], scales[i], (IN_W, IN_H))
        np.testing.assert_allclose(kpts[i], ref, atol=1e-3)
        np.testing.assert_allclose(scores[i], np.minimum(col.max(0), row.max(0)), atol=1e-4)


@pytest.mark.parametrize("which,expected_calls", [("fixed1", [1, 1, 1]), ("fixed2", [2, 2])])
def test_fixed_batch_falls_back_and_agrees(simcc_paths, counting, caplog, which, expected_calls):
    img, _ = dot_image()
    ref, ref_scores = SimCCPose(OrtEngine(simcc_paths["dynamic"], threads=1)).estimate(img, BOXES)
    engine = counting(OrtEngine(simcc_paths[which], threads=1))
    adapter = SimCCPose(engine)
    with caplog.at_level(logging.INFO, logger="poselive.stages"):
        kpts, scores = adapter.estimate(img, BOXES)
        adapter.estimate(img, BOXES)
    assert engine.calls == expected_calls * 2
    fallback_logs = [r for r in caplog.records if "batch size is fixed" in r.getMessage()]
    assert len(fallback_logs) == 1  # said once, not per frame
    np.testing.assert_allclose(kpts, ref, atol=1e-4)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)


def test_spec_drives_preprocessing(simcc_paths):
    """A spec asking for BGR input swaps which dot keypoint 0 finds (red -> blue)."""
    img, points = dot_image()
    engine = OrtEngine(simcc_paths["bgr"], threads=1)
    assert engine.spec["channel_order"] == "bgr"
    kpts, _ = SimCCPose(engine).estimate(img, BOXES)
    err = np.linalg.norm(kpts - points[:, ::-1], axis=-1)
    assert (err <= crop_px_in_image()[:, None] + 0.25).all(), err


def test_pose_stage_rejects_a_keypoint_set_of_another_size(simcc_paths):
    """The spec says coco17 (17 points) but the model gives 3: a clear error, not garbage."""
    img, _ = dot_image()
    stage = PoseStage(OrtEngine(simcc_paths["bgr"], threads=1))
    packet = FramePacket(0, 0.0, img, detections=Detections(BOXES, np.ones(3, np.float32),
                                                            np.zeros(3, np.int64)))
    with pytest.raises(ConfigError, match="3 keypoints"):
        stage(packet)


def test_heatmap_adapter_with_spec_codec(tmp_path, exporter, monkeypatch):
    monkeypatch.setitem(codecs.CODECS, "test_argmax", ArgmaxStrideCodec)
    spec = {"task": "pose", "input_size": [IN_W, IN_H], "outputs": ["heatmaps"],
            "codec": {"type": "test_argmax", "stride": 4}}
    path = exporter(PeakHeatmap(), tmp_path / "hm.onnx", (1, 3, IN_H, IN_W), ["heatmaps"], spec=spec)
    engine = OrtEngine(path, threads=1)
    adapter = build_pose_adapter(engine)
    assert isinstance(adapter, HeatmapPose)
    img, points = dot_image()
    kpts, scores = adapter.estimate(img, BOXES)
    err = np.linalg.norm(kpts - points, axis=-1)
    # A 4x4 cell locates the dot to within ~2 input pixels.
    assert (err <= 2.5 * crop_px_in_image()[:, None] + 0.5).all(), err


def test_heatmap_model_without_codec_is_a_clear_error(tmp_path, exporter):
    path = exporter(PeakHeatmap(), tmp_path / "hm.onnx", (1, 3, IN_H, IN_W), ["heatmaps"])
    with pytest.raises(ConfigError, match="codec"):
        build_pose_adapter(OrtEngine(path, threads=1))


def test_adapter_override_and_unknown(simcc_paths):
    engine = OrtEngine(simcc_paths["dynamic"], threads=1)
    assert isinstance(build_pose_adapter(engine, "simcc"), SimCCPose)
    with pytest.raises(ConfigError, match="unknown pose adapter"):
        build_pose_adapter(engine, "nope")
