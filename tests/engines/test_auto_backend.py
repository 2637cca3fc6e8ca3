"""``open_engine(..., backend="auto")`` on real checkpoints: built once for ONNX Runtime through
the engine cache, same outputs as PyTorch, PyTorch only when the build fails.

Every test builds into a temporary cache (``$POSELIVE_CACHE`` or ``cache_dir``), never
into the user's home.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
models = pytest.importorskip("poselive.models")

import engines  # noqa: E402
import engines.build as build_module  # noqa: E402
from engines import open_engine  # noqa: E402
from engines.calibration import normalize_batch, pose_crops  # noqa: E402
from engines.onnxruntime import OrtEngine  # noqa: E402
from engines.torch import TorchEngine  # noqa: E402
from poselive.errors import ConfigError, ModelError  # noqa: E402

_spec = importlib.util.spec_from_file_location("tiny_pose_model", Path(__file__).with_name("tiny_pose_model.py"))
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

LOGGER = "poselive.engines"


@pytest.fixture(autouse=True)
def _no_tensorrt_here(monkeypatch, tmp_path):
    """The ORT path is what runs on this CPU; the user's cache is never touched."""
    if engines._tensorrt_unavailable() is None:
        pytest.skip("TensorRT and a GPU are here: auto picks TensorRT (tested on the GPU)")
    monkeypatch.setenv("POSELIVE_CACHE", str(tmp_path / "default-cache"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A real poselive pose-t checkpoint at a small input size (export takes a few seconds)."""
    spec = models.pose_spec("t", input_size=(64, 64), name="auto-pose-t")
    torch.manual_seed(0)
    return models.save_checkpoint(tmp_path_factory.mktemp("ckpt") / "pose.pt", models.build_model(spec), spec)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("engine-cache")


@pytest.fixture
def export_calls(monkeypatch) -> list:
    """Counts real ONNX exports made by engines.build (the expensive step a cache hit skips)."""
    calls: list = []
    real = build_module.export_model

    def counting(*args, **kwargs):
        calls.append(args[2] if len(args) > 2 else kwargs.get("out_path"))
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "export_model", counting)
    return calls


def test_checkpoint_runs_on_onnxruntime_like_torch_and_the_build_is_cached(checkpoint, cache, monkeypatch,
                                                                       export_calls, caplog):
    monkeypatch.setenv("POSELIVE_CACHE", str(cache))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        eng = open_engine(checkpoint, threads=1)
    assert isinstance(eng, OrtEngine) and eng.backend == "onnxruntime"
    onnx_files = sorted(cache.glob("*.onnx"))
    assert len(onnx_files) == 1 and len(export_calls) == 1 and eng.path == onnx_files[0]
    chosen = [r.getMessage() for r in caplog.records if "backend auto" in r.getMessage()]
    assert any("runs on onnxruntime" in m and "faster than PyTorch" in m for m in chosen), chosen
    assert any("TensorRT not used" in m for m in chosen), chosen
    assert eng.spec["name"] == "auto-pose-t" and eng.spec["keypoint_set"] == "coco17"

    # Same outputs as PyTorch on real-looking person crops, in one batch.
    x = normalize_batch(pose_crops(eng.spec, limit=3), eng.spec)
    got = eng.run({"input": x})
    ref = TorchEngine.from_checkpoint(checkpoint).run({"input": x})
    assert set(got) == set(ref) == {"simcc_x", "simcc_y"} and got["simcc_x"].shape[0] == len(x)
    for name in ref:
        np.testing.assert_allclose(got[name], ref[name], atol=1e-4, rtol=0)
    eng.close()

    # A second open (through cache_dir this time) reuses the build: no export, file untouched.
    mtime = onnx_files[0].stat().st_mtime_ns
    again = open_engine(checkpoint, threads=1, cache_dir=cache)
    assert isinstance(again, OrtEngine) and len(export_calls) == 1
    assert sorted(cache.glob("*.onnx")) == onnx_files and onnx_files[0].stat().st_mtime_ns == mtime
    np.testing.assert_allclose(again.run({"input": x})["simcc_y"], got["simcc_y"], atol=0, rtol=0)
    again.close()


def test_failed_tensorrt_build_falls_back_to_onnxruntime(checkpoint, cache, monkeypatch, caplog):
    """TensorRT 'available' (pretended) but its real build fails here: ONNX Runtime is next."""
    monkeypatch.setattr(engines, "_tensorrt_unavailable", lambda: None)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        eng = open_engine(checkpoint, threads=1, cache_dir=cache)
    assert isinstance(eng, OrtEngine)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("TensorRT build failed" in m and "tensorrt" in m for m in warnings), warnings
    eng.close()


@pytest.fixture
def unsafe_checkpoint(tmp_path, monkeypatch) -> Path:
    """A checkpoint whose ONNX export does not match PyTorch (a data-dependent constant)."""
    monkeypatch.setitem(models.MODELS, "tiny-data-dependent", lambda arch: tiny.DataDependent())
    spec = dict(tiny.tiny_spec("unsafe"), arch={"type": "tiny-data-dependent"})
    return models.save_checkpoint(tmp_path / "unsafe.pt", tiny.DataDependent(), spec)


def test_checkpoint_whose_export_fails_runs_on_torch_with_the_reason(unsafe_checkpoint, tmp_path, caplog):
    cache = tmp_path / "cache"
    with caplog.at_level(logging.INFO, logger=LOGGER):
        eng = open_engine(unsafe_checkpoint, cache_dir=cache)
    assert isinstance(eng, TorchEngine) and eng.backend == "torch"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert "with PyTorch because building it for ONNX Runtime failed" in warnings[0]
    assert "does not match PyTorch" in warnings[0]
    assert not list(cache.glob("*.onnx"))  # nothing half-built is left to be reused
    x = normalize_batch(pose_crops(eng.spec, limit=2), eng.spec)
    with torch.no_grad():
        ref = tiny.DataDependent().eval()(torch.from_numpy(x))
    np.testing.assert_allclose(eng.run({"input": x})["simcc_x"], ref[0].numpy(), atol=1e-5)


def test_corrupt_checkpoint_is_an_error_not_a_fallback(tmp_path, caplog):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a torch file" * 8)
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(ModelError, match="broken.pt"):
        open_engine(bad, cache_dir=tmp_path / "cache")
    assert not any("with PyTorch because" in r.getMessage() for r in caplog.records)
    with pytest.raises(ModelError, match="not found"):
        open_engine(tmp_path / "missing.pt")


def test_torch_only_options_pick_torch_without_building(checkpoint, tmp_path, export_calls, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        eng = open_engine(checkpoint, cache_dir=tmp_path / "cache", channels_last=True)
    assert isinstance(eng, TorchEngine) and eng.channels_last and export_calls == []
    assert not (tmp_path / "cache").exists()
    assert any("only apply to PyTorch" in r.getMessage() for r in caplog.records)


def test_explicit_backends_are_unchanged(checkpoint, tmp_path, export_calls):
    assert isinstance(open_engine(checkpoint, backend="torch"), TorchEngine)
    with pytest.raises(ConfigError, match="poselive build"):
        open_engine(checkpoint, backend="onnxruntime", cache_dir=tmp_path)
    assert export_calls == [] and not list(tmp_path.glob("*.onnx"))
