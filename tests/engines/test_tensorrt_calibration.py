"""INT8 calibration: real crops, fixed-size batches, the calibrator protocol and its cache.

The calibrator is driven by the TEST DOUBLE ``FakeTensorRT``, which calls it the way
TensorRT does (read cache, get_batch until None, write cache) and reads each batch
from the address the calibrator hands back.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from engines._trt_double import FakeTensorRT, HostMemory
from engines.calibration import (CalibrationBatches, coco_person_boxes, make_calibrator, model_inputs,
                                 normalize_batch, pose_crops, synthetic_image)
from engines.tensorrt import build_engine
from poselive.errors import ConfigError, ModelError

_spec = importlib.util.spec_from_file_location("tiny_pose_model", Path(__file__).with_name("tiny_pose_model.py"))
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)
W, H = tiny.INPUT_SIZE


def test_batches_are_fixed_size_and_wrap_the_last_partial_batch():
    data = np.arange(10, dtype=np.float32)[:, None] * np.ones((10, 4), np.float32)
    b = CalibrationBatches(data, 4)
    batches = list(b)
    assert len(b) == len(batches) == 3 and b.shape == (4, 4)
    assert all(x.shape == (4, 4) for x in batches)
    firsts = [list(x[:, 0].astype(int)) for x in batches]
    # Every sample once; the last batch is completed with the first samples again.
    assert firsts == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    assert [list(x[:, 0].astype(int)) for x in CalibrationBatches(data, 5)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    # Fewer samples than one batch: repeats fill it.
    assert list(next(iter(CalibrationBatches(data[:3], 8)))[:, 0].astype(int)) == [0, 1, 2, 0, 1, 2, 0, 1]
    with pytest.raises(ConfigError):
        CalibrationBatches(data[:0], 4)
    with pytest.raises(ConfigError):
        CalibrationBatches(data, 0)


def test_normalize_batch_layouts():
    img = synthetic_image(64, 48)[None]
    spec = tiny.tiny_spec()
    x = normalize_batch(img, spec)
    assert x.shape == (1, 3, 48, 64) and x.dtype == np.float32
    # RGB order: channel 0 of the input is the image's red (BGR index 2) channel.
    np.testing.assert_allclose(x[0, 0], (img[0, ..., 2] - 123.675) / 58.395, rtol=1e-5)
    u = normalize_batch(img, {**spec, "input_format": "uint8_nhwc"})
    assert u.dtype == np.uint8 and u.shape == (1, 48, 64, 3) and (u[0, ..., 0] == img[0, ..., 2]).all()


def test_synthetic_crops_without_data():
    crops = pose_crops(tiny.tiny_spec())
    assert crops.shape == (2, H, W, 3) and crops.dtype == np.uint8
    assert crops.std() > 10  # the figures and the gradient, not an empty canvas


def test_real_crops_from_coco_boxes(shared):
    val = shared / "data" / "coco-mini" / "val2017"
    boxes = coco_person_boxes(shared / "data" / "coco-mini" / "annotations" / "person_keypoints_val2017.json")
    assert boxes and all(b.shape[1] == 4 for b in boxes.values())
    crops = pose_crops(tiny.tiny_spec(), val, limit=20)
    assert crops.shape == (20, H, W, 3)
    # Real, varied crops: not all alike.
    assert np.std(crops.reshape(20, -1).mean(1)) > 1.0
    x = model_inputs(tiny.tiny_spec(), val, limit=20)
    assert x.shape == (20, 3, H, W) and x.dtype == np.float32


def test_folder_without_annotations_uses_whole_images(tmp_path):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), synthetic_image(80 + 10 * i, 60))
    (tmp_path / "notes.txt").write_text("not an image")
    crops = pose_crops(tiny.tiny_spec(), tmp_path)
    assert crops.shape == (3, H, W, 3)
    with pytest.raises(ConfigError):
        pose_crops(tiny.tiny_spec(), tmp_path / "missing")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    from engines.build import export_model

    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_model(tiny.TinySimCC().eval(), tiny.tiny_spec(), path)
    return path


def _shared_root() -> Path | None:
    """shared/ as tests/conftest.py finds it; None when absent (synthetic data then)."""
    env = os.environ.get("POSELIVE_SHARED")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    return root if (root / "data" / "coco-mini" / "val2017").is_dir() else None


def _calibration_data(shared_root: Path | None) -> np.ndarray:
    if shared_root is not None:
        return model_inputs(tiny.tiny_spec(), shared_root / "data" / "coco-mini" / "val2017", limit=19)
    return np.concatenate([model_inputs(tiny.tiny_spec())] * 10)[:19]


def test_int8_build_calibrates_then_reuses_the_cache(tiny_onnx, tmp_path):
    data = _calibration_data(_shared_root())
    assert len(data) == 19
    trt, mem = FakeTensorRT(), HostMemory()
    batches = CalibrationBatches(data, 8)
    cache = tmp_path / "m.calib"
    cal = make_calibrator(trt, batches, cache, mem, "input")
    assert isinstance(cal, trt.IInt8EntropyCalibrator2) and cal.get_batch_size() == 8
    build_engine(tiny_onnx, tmp_path / "m.engine", precision="int8", max_batch=16, calibrator=cal, trt=trt)
    cfg = trt.last_config
    assert {f.value for f in cfg.flags} == {"FP16", "INT8"} and cfg.int8_calibrator is cal
    # Calibration runs at the calibrator's batch size; the runtime profile is unchanged.
    assert cfg.calibration_profile.shapes["input"] == ((8, 3, H, W),) * 3
    assert cfg.profiles[0].shapes["input"][2] == (16, 3, H, W)
    # TensorRT saw exactly the real data, in fixed-size batches, the last one wrapped.
    seen = trt.calibration_batches
    assert [b.shape for b in seen] == [(8, 3, H, W)] * 3 and cal.batches_served == 3
    np.testing.assert_array_equal(np.concatenate(seen)[:19], data)
    np.testing.assert_array_equal(seen[2][3:], data[:5])
    assert cache.read_bytes() == b"FAKE-CALIB 3"

    # A rebuild reads the table and never asks for a batch.
    trt2 = FakeTensorRT()
    cal2 = make_calibrator(trt2, CalibrationBatches(data, 8), cache, mem, "input")
    build_engine(tiny_onnx, tmp_path / "m2.engine", precision="int8", max_batch=16, calibrator=cal2, trt=trt2)
    assert ("calibration_cache_hit",) in trt2.calls and cal2.batches_served == 0
    assert trt2.calibration_batches == []


def test_calibrator_rejects_unknown_input_name():
    cal = make_calibrator(FakeTensorRT(), CalibrationBatches(np.zeros((2, 3), np.float32), 2), None,
                          HostMemory(), "input")
    with pytest.raises(ModelError, match="input"):
        cal.get_batch(["image"])
    assert cal.read_calibration_cache() is None
