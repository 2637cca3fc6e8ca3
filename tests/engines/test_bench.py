"""Model-only benchmark rows from a real (tiny) ONNX model run by ONNX Runtime."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engines.base import TensorInfo
from engines.bench import bench_model, make_feeds

_spec = importlib.util.spec_from_file_location("tiny_pose_model", Path(__file__).with_name("tiny_pose_model.py"))
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)
W, H = tiny.INPUT_SIZE


class _Ort:
    """Minimal Engine over an InferenceSession (keeps this test independent of OrtEngine)."""

    backend = "onnxruntime"

    def __init__(self, path: Path, spec: dict) -> None:
        self.sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.spec = spec
        self.inputs = [TensorInfo("input", (None, 3, None, None), "float32")]
        self.outputs = [TensorInfo(o.name, (None,), "float32") for o in self.sess.get_outputs()]
        self.batches: list[int] = []

    def run(self, feeds):
        self.batches.append(len(feeds["input"]))
        names = [o.name for o in self.outputs]
        return dict(zip(names, self.sess.run(names, feeds)))

    def close(self) -> None:
        pass


def test_bench_rows_and_feeds(tmp_path):
    from engines.build import export_model

    path = export_model(tiny.TinySimCC().eval(), tiny.tiny_spec(), tmp_path / "tiny.onnx")
    eng = _Ort(path, tiny.tiny_spec())
    feeds = make_feeds(eng, 3)
    assert feeds["input"].shape == (3, 3, H, W)  # dynamic H/W filled from the spec
    rows = bench_model(eng, batch_sizes=(1, 4), warmup=2, iters=5)
    assert [r["batch"] for r in rows] == [1, 4]
    assert eng.batches == [1] * 7 + [4] * 7
    for r in rows:
        assert 0 < r["p50_ms"] <= r["p95_ms"] and r["iters"] == 5
        np.testing.assert_allclose(r["items_per_s"], r["batch"] * 1e3 / r["p50_ms"], rtol=1e-6)


def test_fixed_batch_models_skip_other_sizes():
    class Fixed(_Ort):
        def __init__(self) -> None:
            self.spec = {"input_size": [8, 8]}
            self.inputs = [TensorInfo("input", (1, 3, 8, 8), "uint8")]
            self.outputs = []
            self.batches = []

        def run(self, feeds):
            assert feeds["input"].dtype == np.uint8
            self.batches.append(len(feeds["input"]))
            return {}

    eng = Fixed()
    rows = bench_model(eng, batch_sizes=(1, 8), warmup=0, iters=2)
    assert "p50_ms" in rows[0] and "skipped" not in rows[0]
    assert "batch 1 only" in rows[1]["skipped"] and eng.batches == [1, 1]
