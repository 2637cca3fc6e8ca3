"""`poselive model-info` on every kind of model: a shipped name or alias, an ONNX file with
and without an embedded spec, a .pt checkpoint and a built engine (its spec sidecar)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from poselive import assets

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def test_shipped_names_and_the_table():
    r = run_cli("model-info")
    assert r.returncode == 0 and "poselive-det-nano" in r.stdout and "fast" in r.stdout
    r = run_cli("model-info", "fast", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["shipped"] == assets.ALIASES["fast"] and info["format"] == "onnx"
    assert info["spec"]["task"] == "pose" and info["outputs"] and Path(info["card"]).is_file()
    r = run_cli("model-info", "poselive-det-nano")
    assert r.returncode == 0 and "detector" in r.stdout and "boxes" in r.stdout


def test_onnx_file_with_and_without_a_spec(teachers):
    r = run_cli("model-info", str(assets.model_path("fast")))
    assert r.returncode == 0 and "keypoint_set coco17" in r.stdout and "corrupt" not in r.stdout + r.stderr
    r = run_cli("model-info", str(teachers / "movenet-lightning.onnx"))
    assert r.returncode == 0, r.stderr
    assert "none embedded" in r.stdout and "input:0" in r.stdout and "Identity:0" in r.stdout


def test_checkpoint_and_built_engines(tmp_path):
    pytest.importorskip("torch")
    from engines._trt_double import FakeTensorRT, HostMemory
    from engines.build import build

    ckpt = REPO / "assets" / "poselive-pose-lightning.pt"
    if not ckpt.is_file():
        pytest.skip("the .pt checkpoint is not in this checkout")
    r = run_cli("model-info", str(ckpt))
    assert r.returncode == 0 and "params" in r.stdout and "FLOPs" in r.stdout
    # An ONNX Runtime build (validated ONNX + sidecar) and a TensorRT engine, built by the
    # real build path; the TensorRT compiler is the repository's CPU test double, since
    # model-info reads an engine's description from the sidecar the build writes beside it.
    built = build(str(ckpt), backend="onnxruntime", out_dir=tmp_path / "cache")
    r = run_cli("model-info", str(built))
    assert r.returncode == 0 and "build" in r.stdout and "poselive-pose-lightning" in r.stdout
    engine = build(str(ckpt), backend="tensorrt", out_dir=tmp_path / "cache",
                   trt=FakeTensorRT("10.3.0"), memory=HostMemory("NVIDIA A100-SXM4-40GB", "8.0"))
    assert engine.suffix in (".engine", ".plan")
    r = run_cli("model-info", str(engine), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["format"] == "engine" and info["spec"]["name"] == "poselive-pose-lightning"
    assert info["spec"]["build"]["backend"] == "tensorrt"
    text = run_cli("model-info", str(engine)).stdout
    assert "A100" in text and "tensorrt" in text


def test_a_missing_or_unknown_model_is_one_line(tmp_path):
    for arg in (str(tmp_path / "gone.onnx"), str(tmp_path / "gone.engine"), "accurate"):
        r = run_cli("model-info", arg)
        if arg == "accurate" and r.returncode == 0:
            continue  # the accurate model is installed in this checkout
        assert r.returncode == 1 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, arg
