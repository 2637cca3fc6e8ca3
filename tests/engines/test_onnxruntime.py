"""OrtEngine and open_engine on real ONNX files (a tiny exported model and the teachers)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from engines import BACKENDS, Engine, open_engine
from engines.onnxruntime import OrtEngine
from poselive.errors import ConfigError, MissingExtraError, ModelError

REPO = Path(__file__).resolve().parents[2]
SPEC = {"task": "pose", "name": "tiny", "input_size": [16, 8], "keypoint_set": "coco17",
        "outputs": ["simcc_x", "simcc_y"], "codec": {"type": "simcc", "split_ratio": 2.0}}


def export(path: Path, spec_text: str | None, dynamic: bool = True) -> Path:
    """A tiny conv net [B,3,8,16] -> simcc_x [B,17,32], simcc_y [B,17,16], exported by torch."""
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    torch.manual_seed(0)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 17, 3, padding=1)

        def forward(self, x):
            f = self.conv(x)
            return f.mean(2).repeat_interleave(2, -1), f.mean(3).repeat_interleave(2, -1)

    axes = {n: {0: "batch"} for n in ("input", "simcc_x", "simcc_y")} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(Tiny().eval(), (torch.zeros(1, 3, 8, 16),), str(path), input_names=["input"],
                          output_names=["simcc_x", "simcc_y"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    if spec_text is not None:
        model = onnx.load(str(path))
        entry = model.metadata_props.add()
        entry.key, entry.value = "poselive_spec", spec_text
        onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return export(tmp_path_factory.mktemp("ort") / "tiny.onnx", json.dumps(SPEC))


def test_spec_shapes_and_run(tiny):
    engine = OrtEngine(tiny, threads=1)
    assert isinstance(engine, Engine) and engine.backend == "onnxruntime"
    assert engine.spec == SPEC
    assert engine.providers == ["CPUExecutionProvider"]
    (inp,) = engine.inputs
    assert (inp.name, inp.shape, inp.dtype) == ("input", (None, 3, 8, 16), "float32")
    assert [o.name for o in engine.outputs] == ["simcc_x", "simcc_y"]
    x = np.random.default_rng(0).normal(size=(3, 3, 8, 16)).astype(np.float32)
    out = engine.run({"input": x})
    assert out["simcc_x"].shape == (3, 17, 32) and out["simcc_y"].shape == (3, 17, 16)
    # Batched == one at a time: the batch dimension really is independent.
    one = engine.run({"input": x[1:2]})
    np.testing.assert_allclose(out["simcc_x"][1:2], one["simcc_x"], rtol=1e-5, atol=1e-6)
    engine.close()
    with pytest.raises(ModelError, match="closed"):
        engine.run({"input": x})


def test_run_errors_name_the_problem(tiny):
    engine = OrtEngine(tiny)
    with pytest.raises(ModelError, match="tiny.onnx"):
        engine.run({"input": np.zeros((1, 3, 9, 9), np.float32)})


def test_external_model_has_empty_spec(teachers):
    engine = OrtEngine(teachers / "movenet-lightning.onnx", threads=1)
    assert engine.spec == {}
    assert engine.inputs[0].shape == (1, 192, 192, 3) and engine.inputs[0].dtype == "int32"
    assert engine.outputs[0].shape == (1, 1, 17, 3)


def test_missing_corrupt_and_non_onnx_files(tmp_path, tiny):
    with pytest.raises(ModelError, match="nowhere.onnx"):
        OrtEngine(tmp_path / "nowhere.onnx")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(tiny.read_bytes()[: tiny.stat().st_size // 2])
    with pytest.raises(ModelError, match="truncated.onnx"):
        OrtEngine(truncated)
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(ModelError, match="notes.onnx"):
        OrtEngine(text)


def test_corrupt_spec_metadata(tmp_path):
    path = export(tmp_path / "badspec.onnx", "{not json")
    with pytest.raises(ModelError, match="poselive_spec.*badspec.onnx"):
        OrtEngine(path)


def test_unavailable_provider_falls_back_to_cpu(tiny, caplog):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA provider is available here")
    with caplog.at_level(logging.WARNING, logger="engines.onnxruntime"):
        engine = OrtEngine(tiny, providers=["cuda"])
    assert engine.providers == ["CPUExecutionProvider"]
    assert any("CUDAExecutionProvider" in r.getMessage() for r in caplog.records)


def test_open_engine_dispatch(tiny, tmp_path):
    engine = open_engine(tiny, threads=1)
    assert isinstance(engine, OrtEngine) and engine.threads == 1
    assert set(BACKENDS) >= {"onnxruntime", "torch", "tensorrt"}
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"\0")
    with pytest.raises(ConfigError, match="poselive build"):
        open_engine(ckpt, backend="onnxruntime")
    with pytest.raises(ConfigError, match="backend='onnxruntime'"):
        open_engine(tiny, backend="torch")
    with pytest.raises(ConfigError, match="unknown backend"):
        open_engine(tiny, backend="openvino")
    with pytest.raises(ConfigError, match=r"\.onnx"):
        open_engine(tmp_path / "model.tflite")
    with pytest.raises(ModelError, match="missing.onnx"):
        open_engine(tmp_path / "missing.onnx")


def test_open_engine_tensorrt_without_tensorrt(tmp_path):
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    plan = tmp_path / "model.engine"
    plan.write_bytes(b"\0" * 16)
    with pytest.raises(MissingExtraError, match=r"poselive\[tensorrt\]"):
        open_engine(plan)


def test_importing_engines_and_stages_does_not_import_torch():
    code = ("import sys, engines, engines.onnxruntime, poselive.stages, poselive.stages.adapters; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
