"""TorchEngine with a tiny nn.Module and a spec; parity with ONNX Runtime on the same model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engines import Engine, open_engine  # noqa: E402
from engines.onnxruntime import OrtEngine  # noqa: E402
from engines.torch import TorchEngine  # noqa: E402
from poselive.errors import ConfigError, ModelError  # noqa: E402
from poselive.stages.adapters import SimCCPose  # noqa: E402

SPEC = {"task": "pose", "name": "tiny", "input_size": [48, 64], "keypoint_set": "coco17",
        "outputs": ["simcc_x", "simcc_y"],
        "codec": {"type": "simcc", "input_size": [48, 64], "split_ratio": 2.0}}


class TinySimCC(torch.nn.Module):
    """A small conv net with RTMPose's output contract: [B,3,64,48] -> [B,17,96], [B,17,128]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
                                        torch.nn.ReLU(), torch.nn.Conv2d(8, 17, 3, padding=1))
        self.fx = torch.nn.Linear(48, 96)
        self.fy = torch.nn.Linear(64, 128)

    def forward(self, x):
        f = self.conv(x)
        return self.fx(f.mean(2)), self.fy(f.mean(3))


class DictOut(TinySimCC):
    def forward(self, x):
        a, b = super().forward(x)
        return {"simcc_x": a, "simcc_y": b}


def batch(n: int = 2) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 3, 64, 48)).astype(np.float32)


def test_run_matches_the_module():
    model = TinySimCC().eval()
    engine = TorchEngine(model, SPEC)
    assert isinstance(engine, Engine) and engine.backend == "torch"
    assert [(i.name, i.shape, i.dtype) for i in engine.inputs] == [("input", (None, 3, 64, 48), "float32")]
    assert [(o.name, o.shape) for o in engine.outputs] == [("simcc_x", (None, 17, 96)),
                                                          ("simcc_y", (None, 17, 128))]
    x = batch()
    out = engine.run({"input": x})
    assert set(out) == {"simcc_x", "simcc_y"}
    assert isinstance(out["simcc_x"], np.ndarray) and out["simcc_x"].dtype == np.float32
    with torch.no_grad():
        ref = model(torch.from_numpy(x))
    np.testing.assert_allclose(out["simcc_x"], ref[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["simcc_y"], ref[1].numpy(), rtol=1e-5, atol=1e-6)


def test_dict_outputs_and_channels_last():
    x = batch(3)
    plain = TorchEngine(TinySimCC(), SPEC).run({"input": x})
    out = TorchEngine(DictOut(), SPEC, channels_last=True).run({"input": x})
    for name in ("simcc_x", "simcc_y"):
        np.testing.assert_allclose(out[name], plain[name], rtol=1e-4, atol=1e-5)


def test_spec_output_count_mismatch():
    bad = dict(SPEC, outputs=["heatmaps"])
    with pytest.raises(ModelError, match="returned 2 outputs"):
        TorchEngine(TinySimCC(), bad)


def test_cuda_without_cuda_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError, match="device='cpu'"):
        TorchEngine(TinySimCC(), SPEC, device="cuda")


def test_cuda_graphs_on_cpu_is_a_config_error():
    with pytest.raises(ConfigError, match="CUDA graphs need a CUDA device"):
        TorchEngine(TinySimCC(), SPEC, cuda_graphs=True)
    eager = TorchEngine(TinySimCC(), SPEC)
    assert eager.cuda_graphs is False and eager.captured_shapes == []


def test_half_on_cpu_runs_in_fp16_and_returns_float32():
    x = batch(3)
    ref = TorchEngine(TinySimCC(), SPEC).run({"input": x})
    engine = TorchEngine(TinySimCC(), SPEC, half=True, channels_last=True)
    assert next(engine.model.parameters()).dtype == torch.float16
    out = engine.run({"input": x})
    for name in ("simcc_x", "simcc_y"):
        assert out[name].dtype == np.float32
        # fp16 keeps ~3 significant digits; a float32 run would differ by ~1e-6 only.
        np.testing.assert_allclose(out[name], ref[name], rtol=0, atol=2e-2)
        assert np.abs(out[name] - ref[name]).max() > 1e-6


class HalfUnsupported(TinySimCC):
    """Uses an op (LU-based determinant) that PyTorch implements only in fp32/fp64 on the CPU."""

    def forward(self, x):
        a, b = super().forward(x)
        return a * torch.det(x[:, 0, :3, :3]).unsqueeze(-1).unsqueeze(-1), b


def test_half_on_cpu_with_an_unsupported_op_says_what_to_do():
    TorchEngine(HalfUnsupported(), SPEC)  # fine in float32
    with pytest.raises(ModelError, match="half=False on the CPU"):
        TorchEngine(HalfUnsupported(), SPEC, half=True)


class SyncsOnHost(TinySimCC):
    """Reads a value back to the host inside forward: CUDA graph capture must reject it."""

    def forward(self, x):
        a, b = super().forward(x)
        return a + float(a.max().item()) * 0, b


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_match_eager_per_batch_size_and_fall_back():
    eager = TorchEngine(TinySimCC(), SPEC, device="cuda")
    graphs = TorchEngine(TinySimCC(), SPEC, device="cuda", cuda_graphs=True, channels_last=True)
    for n in (1, 3, 3, 1):
        x = batch(n) + n  # new values each call: replays must read the current batch
        a, b = eager.run({"input": x}), graphs.run({"input": x})
        for name in a:
            np.testing.assert_allclose(b[name], a[name], rtol=1e-4, atol=1e-4)
    assert sorted(graphs.captured_shapes) == [(1, 3, 64, 48), (3, 3, 64, 48)]
    fallback = TorchEngine(SyncsOnHost(), SPEC, device="cuda", cuda_graphs=True)
    assert fallback.captured_shapes == []
    out = fallback.run({"input": batch(2)})
    np.testing.assert_allclose(out["simcc_y"], eager.run({"input": batch(2)})["simcc_y"], rtol=1e-4, atol=1e-4)


def test_from_checkpoint_missing_file(tmp_path):
    with pytest.raises(ModelError, match="nope.pt"):
        TorchEngine.from_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(ModelError, match="nope.ckpt"):
        open_engine(tmp_path / "nope.ckpt")


def test_same_keypoints_as_onnxruntime(tmp_path):
    """Both backends behind the same adapter give the same keypoints (pre/post shared)."""
    model = TinySimCC().eval()
    path = tmp_path / "tiny.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, 3, 64, 48),), str(path), input_names=["input"],
                          output_names=["simcc_x", "simcc_y"],
                          dynamic_axes={"input": {0: "b"}, "simcc_x": {0: "b"}, "simcc_y": {0: "b"}},
                          opset_version=17, dynamo=False)
    img = np.random.default_rng(2).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 90, 200], [150, 30, 300, 230]], np.float32)
    k_ort, s_ort = SimCCPose(OrtEngine(path, threads=1)).estimate(img, boxes)
    k_pt, s_pt = SimCCPose(TorchEngine(model, SPEC)).estimate(img, boxes)
    # ONNX has no spec here, so the adapter also infers the split ratio (2.0) by itself.
    np.testing.assert_allclose(k_pt, k_ort, atol=1e-3)
    np.testing.assert_allclose(s_pt, s_ort, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_poselive_checkpoint_parity_torch_vs_folded_onnx(tmp_path):
    """A real poselive pose model: checkpoint via open_engine (torch) and its ONNX export
    with preprocessing folded in (uint8 NHWC BGR) give the same keypoints."""
    models = pytest.importorskip("poselive.models")
    export = pytest.importorskip("poselive.models.export")
    from poselive.stages import PoseStage
    from poselive.types import Detections, FramePacket

    torch.manual_seed(0)
    spec = models.preset_spec("poselive-pose-t")
    ckpt = models.save_checkpoint(tmp_path / "pose.pt", models.build_model(spec), spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_path = export.export_onnx(ckpt, tmp_path / "pose.onnx", fold_preprocess=True)
    pt_engine = open_engine(ckpt, backend="torch")
    ort_engine = open_engine(onnx_path, threads=1)
    assert isinstance(pt_engine, TorchEngine) and ort_engine.spec["input_format"] == "uint8_nhwc"
    img = np.random.default_rng(3).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    dets = Detections(np.array([[20, 30, 150, 330], [200, 50, 420, 300]], np.float32),
                      np.array([0.9, 0.8], np.float32), np.zeros(2, np.int64))
    a = PoseStage(pt_engine)(FramePacket(0, 0.0, img, detections=dets)).poses
    b = PoseStage(ort_engine)(FramePacket(0, 0.0, img, detections=dets)).poses
    assert a.keypoints.shape == (2, 17, 2)
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-3, atol=1e-3)
