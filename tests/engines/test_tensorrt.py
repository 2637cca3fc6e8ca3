"""TensorRT backend against the TEST DOUBLE ``FakeTensorRT`` (no GPU or TensorRT here).

The double reads the real ONNX file and runs it with ONNX Runtime behind the execution
context, so these tests check the real configuration and binding code of
``engines.tensorrt``: profile shapes, flags, timing cache, I/O discovery, dynamic
batches, buffer addresses, and the errors for wrong, corrupt or foreign engines.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from engines._trt_double import FakeTensorRT, HostMemory
from engines.cache import EngineKey, write_sidecar
from engines.tensorrt import TensorRTEngine, build_engine, import_tensorrt, profile_shapes
from poselive.errors import ConfigError, MissingExtraError, ModelError

_spec = importlib.util.spec_from_file_location("tiny_pose_model", Path(__file__).with_name("tiny_pose_model.py"))
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)
W, H = tiny.INPUT_SIZE


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> tuple[Path, object]:
    """A real exported tiny pose model (dynamic batch) and its torch original."""
    from engines.build import export_model

    model = tiny.TinySimCC().eval()
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_model(model, tiny.tiny_spec(), path)
    return path, model


def test_profile_shapes():
    assert profile_shapes((-1, 3, 256, 192), 32) == ((1, 3, 256, 192), (8, 3, 256, 192), (32, 3, 256, 192))
    assert profile_shapes((-1, 3, 256, 192), 4) == ((1, 3, 256, 192), (4, 3, 256, 192), (4, 3, 256, 192))
    # Dynamic H/W come from the spec's input size (w, h), NCHW and NHWC alike.
    assert profile_shapes((-1, 3, -1, -1), 2, input_size=(320, 320))[2] == (2, 3, 320, 320)
    assert profile_shapes((-1, -1, -1, 3), 2, input_size=(192, 256))[0] == (1, 256, 192, 3)
    # A static batch is kept as it is.
    assert profile_shapes((1, 3, 320, 320), 32) == ((1, 3, 320, 320),) * 3
    with pytest.raises(ConfigError):
        profile_shapes((-1, 3, 256, 192), 0)
    with pytest.raises(ConfigError, match="input_size"):
        profile_shapes((-1, 3, -1, -1), 8)


def test_missing_tensorrt_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # makes `import tensorrt` fail
    with pytest.raises(MissingExtraError, match=r"poselive\[tensorrt\]"):
        import_tensorrt()
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    with pytest.raises(MissingExtraError, match=r"poselive\[tensorrt\]"):
        TensorRTEngine(engine)


def test_build_engine_configures_builder(tiny_onnx, tmp_path):
    onnx_path, _ = tiny_onnx
    trt = FakeTensorRT()
    info = build_engine(onnx_path, tmp_path / "a.engine", precision="fp16", max_batch=16,
                        timing_cache=tmp_path / "timing.cache", trt=trt)
    calls = [c[0] for c in trt.calls]
    assert ("create_network", 0) in trt.calls  # explicit batch: flags 0 in TensorRT 10
    assert calls.index("add_optimization_profile") < calls.index("build_serialized_network")
    cfg = trt.last_config
    assert {f.value for f in cfg.flags} == {"FP16"}
    assert cfg.memory_pools[trt.MemoryPoolType.WORKSPACE] > 0
    prof = cfg.profiles[0].shapes["input"]
    assert prof == ((1, 3, H, W), (8, 3, H, W), (16, 3, H, W))
    assert info["profile_shapes"]["input"] == [[1, 3, H, W], [8, 3, H, W], [16, 3, H, W]]
    assert cfg.int8_calibrator is None and cfg.ignore_timing_mismatch is False
    assert (tmp_path / "a.engine").stat().st_size > 0
    # The timing cache is written, and read back by the next build (which adds to it).
    assert (tmp_path / "timing.cache").read_bytes() == b"FAKE-TIMING:1"
    trt2 = FakeTensorRT()
    build_engine(onnx_path, tmp_path / "b.engine", precision="fp32", max_batch=16,
                 timing_cache=tmp_path / "timing.cache", trt=trt2)
    assert ("create_timing_cache", len(b"FAKE-TIMING:1")) in trt2.calls
    assert not trt2.last_config.flags  # fp32: no precision flags
    assert (tmp_path / "timing.cache").read_bytes() == b"FAKE-TIMING:2"


def test_build_engine_errors(tiny_onnx, tmp_path):
    onnx_path, _ = tiny_onnx
    with pytest.raises(ConfigError, match="calib-data"):
        build_engine(onnx_path, tmp_path / "x.engine", precision="int8", trt=FakeTensorRT())
    with pytest.raises(ConfigError, match="precision"):
        build_engine(onnx_path, tmp_path / "x.engine", precision="bf8", trt=FakeTensorRT())
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="could not parse"):
        build_engine(bad, tmp_path / "x.engine", trt=FakeTensorRT())


@pytest.fixture()
def built(tiny_onnx, tmp_path):
    onnx_path, model = tiny_onnx
    trt, mem = FakeTensorRT("10.3.0"), HostMemory("NVIDIA A100-SXM4-40GB", "8.0")
    engine = tmp_path / "tiny.engine"
    info = build_engine(onnx_path, engine, max_batch=8, trt=trt)
    key = EngineKey("ab" * 32, "tensorrt", "fp32", info["profile_shapes"], "10.3.0",
                    "NVIDIA A100-SXM4-40GB", "8.0")
    write_sidecar(engine, tiny.tiny_spec(), key)
    return engine, model, trt, mem


def test_engine_runs_dynamic_batches_like_pytorch(built):
    import torch

    engine_path, model, trt, mem = built
    eng = TensorRTEngine(engine_path, trt=trt, memory=mem, expected={"keypoint_set": "coco17"})
    assert eng.backend == "tensorrt" and eng.spec["name"] == "tiny-pose"
    assert [t.name for t in eng.inputs] == ["input"] and eng.inputs[0].shape == (None, 3, H, W)
    assert [t.name for t in eng.outputs] == ["simcc_x", "simcc_y"]
    assert eng.outputs[0].dtype == "float32"
    rng = np.random.default_rng(1)
    for n in (3, 3, 8, 1):  # same size twice reuses buffers; then grow and shrink
        x = rng.standard_normal((n, 3, H, W)).astype(np.float32)
        out = eng.run({"input": x})
        with torch.no_grad():
            ref = model(torch.from_numpy(x))
        assert out["simcc_x"].shape == (n, tiny.K, int(W * tiny.SPLIT))
        np.testing.assert_allclose(out["simcc_x"], ref[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(out["simcc_y"], ref[1].numpy(), atol=1e-5)
    shapes = [c[2] for c in trt.calls if c[0] == "set_input_shape"]
    # Buffers sized once at the profile maximum; then one shape change per new batch size.
    assert shapes == [(8, 3, H, W), (3, 3, H, W), (8, 3, H, W), (1, 3, H, W)]
    assert mem.allocs == 3 and mem.syncs == 4
    with pytest.raises(ModelError, match="max-batch"):
        eng.run({"input": np.zeros((9, 3, H, W), np.float32)})
    with pytest.raises(ModelError, match="missing engine inputs"):
        eng.run({"image": np.zeros((1, 3, H, W), np.float32)})
    eng.close()


def test_engine_rejects_wrong_model_other_machine_and_corrupt_files(built, tmp_path):
    engine_path, _, trt, mem = built
    with pytest.raises(ModelError, match="keypoint_set"):
        TensorRTEngine(engine_path, trt=trt, memory=mem, expected={"keypoint_set": "halpe26"})
    with pytest.raises(ModelError, match=r"TensorRT 10\.3\.0 for NVIDIA A100.*NVIDIA H100.*poselive build"):
        TensorRTEngine(engine_path, trt=trt, memory=HostMemory("NVIDIA H100 80GB HBM3", "9.0"))
    # Without a sidecar the runtime itself refuses a plan from another TensorRT version.
    bare = tmp_path / "bare.engine"
    bare.write_bytes(engine_path.read_bytes())
    with pytest.raises(ModelError, match="another TensorRT version"):
        TensorRTEngine(bare, trt=FakeTensorRT("10.8.0"), memory=mem)
    corrupt = tmp_path / "corrupt.engine"
    corrupt.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="corrupt"):
        TensorRTEngine(corrupt, trt=trt, memory=mem)
    with pytest.raises(ModelError, match="does not exist"):
        TensorRTEngine(tmp_path / "nope.engine", trt=trt, memory=mem)


def test_open_engine_routes_engine_files_to_tensorrt(built, monkeypatch):
    engines = pytest.importorskip("engines")
    if not hasattr(engines, "open_engine"):
        pytest.skip("engines.open_engine is not there yet")
    engine_path, _, trt, mem = built
    # The double injected as the tensorrt module: open_engine reaches the real backend code.
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    eng = engines.open_engine(engine_path, memory=mem)
    assert eng.backend == "tensorrt" and eng.spec["keypoint_set"] == "coco17"
    assert eng.run({"input": np.zeros((2, 3, H, W), np.float32)})["simcc_x"].shape == (2, tiny.K, 2 * W)
    eng.close()
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(MissingExtraError, match="tensorrt"):
        engines.open_engine(engine_path)


def test_cuda_memory_needs_a_gpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present; this checks the message on machines without one")
    from engines.tensorrt import TorchCudaMemory

    with pytest.raises(ModelError, match="onnxruntime"):
        TorchCudaMemory(0)


def test_real_tensorrt_on_a_gpu(tmp_path):
    """The real library end to end; runs only where tensorrt and a CUDA GPU exist (not in CI)."""
    pytest.importorskip("tensorrt")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from engines.build import build
    from engines.calibration import normalize_batch, pose_crops

    model = tiny.TinySimCC().eval()
    x = normalize_batch(np.concatenate([pose_crops(tiny.tiny_spec())] * 3), tiny.tiny_spec())
    with torch.no_grad():
        ref = [t.numpy() for t in model(torch.from_numpy(x))]
    for precision, tol in (("fp32", 2e-3), ("fp16", 2e-2)):
        path = build((model, tiny.tiny_spec()), backend="tensorrt", precision=precision, max_batch=8,
                     out_dir=tmp_path)
        eng = TensorRTEngine(path, expected={"keypoint_set": "coco17"})
        out = eng.run({"input": x})
        np.testing.assert_allclose(out["simcc_x"], ref[0], atol=tol)
        np.testing.assert_allclose(out["simcc_y"], ref[1], atol=tol)
        eng.close()
