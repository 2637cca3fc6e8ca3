"""ONNX export: opset 17, dynamic batch, embedded spec, parity with PyTorch via onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from poselive.errors import ConfigError  # noqa: E402
from poselive.models import build_model, preset_spec, save_checkpoint  # noqa: E402
from poselive.models.export import export_onnx, onnx_parity, read_onnx_spec  # noqa: E402


@pytest.mark.parametrize("name", ["poselive-pose-t", "poselive-pose-t-hm", "poselive-det-nano"])
def test_export_matches_torch(tmp_path, randomize, name):
    spec = preset_spec(name)
    model = randomize(build_model(spec))
    path = export_onnx(model, tmp_path / f"{name}.onnx")
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 17
    embedded = json.loads({p.key: p.value for p in proto.metadata_props}["poselive_spec"])
    assert embedded["name"] == name and embedded["input_format"] == "float_nchw"
    assert read_onnx_spec(path) == embedded
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == spec["outputs"]
    assert not isinstance(sess.get_inputs()[0].shape[0], int)  # dynamic batch
    assert onnx_parity(model, path, batch_sizes=(1, 3)) < 1e-4
    w, h = spec["input_size"]
    outs = sess.run(None, {"input": np.zeros((3, 3, h, w), np.float32)})
    assert all(o.shape[0] == 3 for o in outs)
    if spec["task"] == "pose" and "simcc_x" in spec["outputs"]:
        assert outs[0].shape == (3, 17, w * 2) and outs[1].shape == (3, 17, h * 2)


def test_export_from_checkpoint_with_folded_preprocessing(tmp_path, randomize):
    spec = preset_spec("poselive-pose-t")
    model = randomize(build_model(spec))
    ckpt = save_checkpoint(tmp_path / "pose.pt", model, spec)
    path = export_onnx(ckpt, tmp_path / "pose_u8.onnx", fold_preprocess=True)
    embedded = read_onnx_spec(path)
    assert embedded["input_format"] == "uint8_nhwc" and embedded["channel_order"] == "bgr"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].type == "tensor(uint8)"
    assert onnx_parity(model, path, batch_sizes=(1, 3)) < 1e-4
    # the folded graph on a BGR image equals the float graph on the normalised RGB image
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (2, 256, 192, 3), dtype=np.uint8)
    x = (img[..., ::-1].astype(np.float32) - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))))
    got = sess.run(None, {"input": img})
    np.testing.assert_allclose(got[0], ref[0].numpy(), atol=1e-4)


def test_export_needs_a_spec(tmp_path):
    with pytest.raises(ConfigError, match="spec"):
        export_onnx(torch.nn.Conv2d(3, 3, 1), tmp_path / "x.onnx")
