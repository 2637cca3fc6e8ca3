"""``poselive build``: checkpoint -> validated ONNX -> (ONNX Runtime file | TensorRT engine).

Steps, each of which fails with a ModelError/ConfigError that says what to do:

1. load the checkpoint (``poselive.models.load_model``) or take a ``(module, spec)`` pair;
2. export to ONNX (opset 17, dynamic batch), simplify with onnxslim when installed,
   embed the spec in ``metadata_props`` and run ``onnx.checker``;
3. check parity against PyTorch on real inputs: person crops from the images in
   ``parity_data`` (or ``$POSELIVE_PARITY_DATA``; GT boxes from the COCO json beside the
   folder, e.g. ``shared/data/coco-mini/val2017``), else crops of a synthetic scene.
   Raw outputs must agree within 1e-4 (scaled by the output's magnitude when it exceeds
   1) and decoded keypoints within 0.5 px;
4. ONNX Runtime: write the ONNX (fp16-converted if asked and ``onnxconverter_common`` is
   installed) into the cache with its sidecar. TensorRT: compile the engine with a
   batch profile 1 / 8 / ``max_batch``, a timing cache and, for INT8, an entropy
   calibrator fed with real crops.

Builds are cached by checkpoint hash, backend, precision and shapes (and for TensorRT,
version and GPU); an up-to-date build is reused, a stale one is rebuilt with a message.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from engines.cache import (EngineKey, default_cache_dir, file_sha256, find_cached, sidecar_path,
                           write_sidecar)
from engines.calibration import (CalibrationBatches, detector_images, make_calibrator, model_inputs,
                                 normalize_batch, pose_crops)
from poselive.errors import ConfigError, MissingExtraError, ModelError
from poselive.interrupts import reraise_interrupt

log = logging.getLogger("poselive.engines")

SPEC_KEY = "poselive_spec"
BACKENDS = ("onnxruntime", "tensorrt")
RAW_TOL = 1e-4  # fp32 ONNX vs PyTorch, absolute (relative above magnitude 1)
KPT_TOL = 0.5  # decoded keypoints, model-input pixels
PARITY_ENV = "POSELIVE_PARITY_DATA"


# -- loading --------------------------------------------------------------------------
def _state_hash(model: Any, spec: dict[str, Any]) -> str:
    """Content hash of an in-memory model: its spec and every parameter/buffer."""
    h = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def load_checkpoint(checkpoint: Any) -> tuple[Any, dict[str, Any], str]:
    """(torch module in eval mode, spec, sha256) from a checkpoint path or a (module, spec) pair."""
    if isinstance(checkpoint, (tuple, list)) and len(checkpoint) == 2:
        model, spec = checkpoint
        model.eval()
        return model, dict(spec), _state_hash(model, dict(spec))
    path = Path(checkpoint)
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist; pass the .pt file written by poselive train")
    try:
        from poselive.models import load_model
    except ImportError as exc:
        raise MissingExtraError("torch", "torch", "building from a checkpoint") from exc
    model, spec = load_model(path)
    model.eval()
    return model, dict(spec), file_sha256(path)


# -- export ---------------------------------------------------------------------------
def export_model(model: Any, spec: dict[str, Any], out_path: Path, *, opset: int = 17,
                 fold_preprocess: bool = False) -> Path:
    """Export to ONNX with a dynamic batch, simplify, embed the spec and check it."""
    import onnx

    try:
        from poselive.models.export import export_onnx
    except ImportError as exc:
        reraise_interrupt(exc)
        export_onnx = None
    try:
        if export_onnx is not None:
            export_onnx(model, out_path, spec=spec, opset=opset, dynamic_batch=True,
                        fold_preprocess=fold_preprocess)
        else:
            _export_torch(model, spec, out_path, opset, fold_preprocess)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - exporters raise many kinds; say what failed
        raise ModelError(f"exporting {spec.get('name', 'the model')} to ONNX failed: "
                         f"{type(exc).__name__}: {exc}") from exc
    proto = onnx.load(str(out_path))
    try:
        import onnxslim

        proto = onnxslim.slim(proto)
    except ImportError as exc:
        reraise_interrupt(exc)
        log.info("onnxslim is not installed; the ONNX graph is not simplified")
    # The exporter's own embedded spec wins: it knows what the graph takes (for example
    # a folded graph that takes BGR and swaps channels inside).
    embedded = {p.key: p.value for p in proto.metadata_props}.get(SPEC_KEY)
    _embed_spec(proto, json.loads(embedded) if embedded else _onnx_spec(spec, fold_preprocess))
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the exported ONNX model is invalid ({exc}); report this with the checkpoint") from exc
    onnx.save(proto, str(out_path))
    return out_path


def read_embedded_spec(onnx_path: str | Path) -> dict[str, Any]:
    """The poselive spec in an ONNX file's metadata ({} when it has none)."""
    import onnx

    proto = onnx.load(str(onnx_path), load_external_data=False)
    raw = {p.key: p.value for p in proto.metadata_props}.get(SPEC_KEY)
    return json.loads(raw) if raw else {}


def _onnx_spec(spec: dict[str, Any], fold_preprocess: bool) -> dict[str, Any]:
    out = dict(spec)
    if fold_preprocess:
        out["input_format"] = "uint8_nhwc"
    return out


def _embed_spec(proto: Any, spec: dict[str, Any]) -> None:
    for p in list(proto.metadata_props):
        if p.key == SPEC_KEY:
            proto.metadata_props.remove(p)
    entry = proto.metadata_props.add()
    entry.key, entry.value = SPEC_KEY, json.dumps(spec, sort_keys=True)


def _export_torch(model: Any, spec: dict[str, Any], out_path: Path, opset: int, fold: bool) -> None:
    """Fallback export used while ``poselive.models.export`` is not available."""
    import torch

    w, h = spec.get("input_size", (192, 256))
    names = list(spec.get("outputs") or ["output"])
    net = _FoldedPreprocess(model, spec) if fold else model
    dummy = torch.zeros((2, int(h), int(w), 3), dtype=torch.uint8) if fold else \
        torch.zeros((2, 3, int(h), int(w)))
    axes = {"input": {0: "batch"}, **{n: {0: "batch"} for n in names}}
    torch.onnx.export(net, (dummy,), str(out_path), input_names=["input"], output_names=names,
                      opset_version=opset, dynamic_axes=axes, dynamo=False)


def _FoldedPreprocess(model: Any, spec: dict[str, Any]) -> Any:
    """Wrap a model so it takes uint8 NHWC images in the spec's channel order."""
    import torch

    class Folded(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.register_buffer("mean", torch.tensor(spec.get("mean", (0, 0, 0)), dtype=torch.float32).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(spec.get("std", (1, 1, 1)), dtype=torch.float32).view(1, 3, 1, 1))

        def forward(self, x: Any) -> Any:
            x = x.permute(0, 3, 1, 2).float()
            return self.model((x - self.mean) / self.std)

    return Folded().eval()


# -- validation -----------------------------------------------------------------------
def _torch_outputs(model: Any, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    import torch

    with torch.no_grad():
        out = model(torch.from_numpy(x))
    if isinstance(out, dict):
        return {n: out[n].cpu().numpy() for n in names}
    if not isinstance(out, (tuple, list)):
        out = (out,)
    return {n: o.cpu().numpy() for n, o in zip(names, out)}


def _raw_inputs(spec: dict[str, Any], image_dir: str | Path | None, limit: int) -> np.ndarray:
    if spec.get("task", "pose") == "detector":
        return detector_images(spec, image_dir, limit=min(limit, 4))
    return pose_crops(spec, image_dir, limit=limit)


def compare_outputs(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], spec: dict[str, Any],
                    raw_tol: float = RAW_TOL, kpt_tol: float = KPT_TOL) -> tuple[dict[str, Any], list[str]]:
    """Largest raw and decoded-keypoint differences between two runs, and what exceeds tolerance.

    Raw differences are absolute, relative to the output's magnitude where it exceeds 1
    (detector boxes are in pixels); keypoints are decoded with the spec's SimCC codec.
    """
    report: dict[str, Any] = {"max_abs_diff": {}}
    problems = []
    for n in ref:
        if n not in got or ref[n].shape != got[n].shape:
            problems.append(f"{n}: shape {getattr(got.get(n), 'shape', None)} vs reference {ref[n].shape}")
            continue
        diff = float(np.max(np.abs(ref[n].astype(np.float64) - got[n]))) if ref[n].size else 0.0
        scale = max(1.0, float(np.max(np.abs(ref[n]))) if ref[n].size else 1.0)
        report["max_abs_diff"][n] = diff
        if diff > raw_tol * scale:
            problems.append(f"{n}: max |diff| {diff:.3g} > {raw_tol * scale:.3g}")
    codec = spec.get("codec") or {}
    if spec.get("task", "pose") == "pose" and codec.get("type") == "simcc" \
            and {"simcc_x", "simcc_y"} <= set(ref) and not any("shape" in p for p in problems):
        from poselive.codecs import build_codec

        c = build_codec(codec)
        k_ref, _ = c.decode(ref["simcc_x"], ref["simcc_y"])
        k_got, _ = c.decode(got["simcc_x"], got["simcc_y"])
        kd = float(np.max(np.abs(k_ref - k_got))) if k_ref.size else 0.0
        report["max_keypoint_diff_px"] = kd
        if kd > kpt_tol:
            problems.append(f"decoded keypoints differ by up to {kd:.2f} px > {kpt_tol} px")
    return report, problems


def _ort_outputs(onnx_path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {sess.get_inputs()[0].name: x})))


def validate_onnx(onnx_path: Path, model: Any, spec: dict[str, Any], *, fold_preprocess: bool = False,
                  parity_data: str | Path | None = None, max_batch: int = 8,
                  raw_tol: float = RAW_TOL, kpt_tol: float = KPT_TOL) -> dict[str, Any]:
    """Compare the ONNX model (ONNX Runtime) with PyTorch on real inputs; returns the report.

    Raises ModelError when raw outputs or decoded keypoints disagree beyond tolerance.
    """
    raw = _raw_inputs(spec, parity_data, limit=max(1, max_batch))
    x_torch = normalize_batch(raw, {**spec, "input_format": "float_nchw"})
    x_onnx = normalize_batch(raw, read_embedded_spec(onnx_path) or _onnx_spec(spec, fold_preprocess))
    got = _ort_outputs(onnx_path, x_onnx)
    ref = _torch_outputs(model, x_torch, list(got))
    diffs, problems = compare_outputs(ref, got, spec, raw_tol, kpt_tol)
    report = {"inputs": int(len(raw)), "source": str(parity_data) if parity_data else "synthetic", **diffs}
    if problems:
        raise ModelError(f"ONNX export of {spec.get('name', 'the model')} does not match PyTorch on "
                         f"{report['inputs']} {report['source']} inputs: " + "; ".join(problems) +
                         ". Check the model for export-unsafe ops (data-dependent control flow).")
    log.info("parity ok on %d %s inputs: %s", report["inputs"], report["source"], report["max_abs_diff"])
    return report


# Engine vs ONNX: fp32 engines may use TF32 on Ampere and newer, fp16/int8 lose more.
ENGINE_KPT_TOL = {"fp32": 0.5, "fp16": 1.0, "int8": 3.0}


def check_engine(engine_path: Path, onnx_path: Path, spec: dict[str, Any], precision: str,
                 parity_data: str | Path | None, max_batch: int, trt: Any, memory: Any) -> dict[str, Any]:
    """Run the built engine and the ONNX model on the same real inputs; returns the differences.

    Reduced precision is expected to move keypoints a little, so this warns (with the
    numbers) rather than fails when keypoints move more than ``ENGINE_KPT_TOL``.
    """
    from engines.tensorrt import TensorRTEngine

    x = normalize_batch(_raw_inputs(spec, parity_data, limit=max(1, min(8, max_batch))), spec)
    ref = _ort_outputs(onnx_path, x)
    eng = TensorRTEngine(engine_path, trt=trt, memory=memory)
    try:
        got = eng.run({eng.inputs[0].name: x})
    finally:
        eng.close()
    tol = ENGINE_KPT_TOL[precision]
    report, problems = compare_outputs(ref, got, spec, raw_tol=float("inf"), kpt_tol=tol)
    report["inputs"] = int(len(x))
    if problems:
        log.warning("the %s engine differs from the ONNX model: %s; check accuracy with poselive eval "
                    "before using it", precision, "; ".join(problems))
    return report


FP16_ORT_UNSUPPORTED = ("fp16 is unsupported for the ONNX Runtime CPU backend here: converting needs "
                        "onnxconverter-common (pip install onnxconverter-common), and ORT on the CPU "
                        "gains little from it; use --precision fp32, or --backend tensorrt")


def _convert_fp16(onnx_path: Path) -> None:
    try:
        from onnxconverter_common import float16
    except ImportError as exc:
        raise ConfigError(FP16_ORT_UNSUPPORTED) from exc
    import onnx

    proto = onnx.load(str(onnx_path))
    meta = {p.key: p.value for p in proto.metadata_props}
    # keep_io_types: callers keep feeding and reading float32 arrays.
    proto = float16.convert_float_to_float16(proto, keep_io_types=True)
    if SPEC_KEY in meta:
        _embed_spec(proto, json.loads(meta[SPEC_KEY]))
    onnx.save(proto, str(onnx_path))


# -- the build ------------------------------------------------------------------------
def _input_shape(spec: dict[str, Any], fold_preprocess: bool) -> tuple[int, ...]:
    w, h = (int(v) for v in spec.get("input_size", (192, 256)))
    return (-1, h, w, 3) if fold_preprocess else (-1, 3, h, w)


def build(checkpoint: Any, backend: str = "tensorrt", precision: str = "fp32", max_batch: int = 32,
          calib_data: str | Path | None = None, out_dir: str | Path | None = None,
          fold_preprocess: bool = False, *, parity_data: str | Path | None = None,
          force: bool = False, device: int = 0, trt: Any = None, memory: Any = None) -> Path:
    """Export, validate and compile a checkpoint; returns the built model file in the cache.

    ``checkpoint`` is a checkpoint path or a ``(torch module, spec)`` pair. ``trt`` and
    ``memory`` replace the tensorrt module and the GPU memory helper (tests inject the
    test double here); ``force`` rebuilds even when the cache holds an up-to-date build;
    ``device`` is the GPU index TensorRT builds for.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown build backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if precision not in ("fp32", "fp16", "int8"):
        raise ConfigError(f"unknown precision '{precision}'; choose fp32, fp16 or int8")
    if backend == "onnxruntime" and precision == "int8":
        raise ConfigError("int8 is only built for TensorRT here; use --backend tensorrt or --precision fp32")
    if precision == "int8" and calib_data is None:
        raise ConfigError("int8 needs calibration images: pass --calib-data DIR (photos of people, "
                          "e.g. a COCO image folder)")
    if backend == "onnxruntime" and precision == "fp16" and importlib.util.find_spec("onnxconverter_common") is None:
        raise ConfigError(FP16_ORT_UNSUPPORTED)  # before any export work
    env: dict[str, str] = {}
    if backend == "tensorrt":
        from engines import tensorrt as trt_backend

        # Fail before the (slow) export when TensorRT or the GPU is missing.
        trt = trt or trt_backend.import_tensorrt()
        memory = memory or trt_backend.TorchCudaMemory(device)
        env = trt_backend.environment(trt, memory)
    parity_data = parity_data or os.environ.get(PARITY_ENV) or None

    model, spec, sha = load_checkpoint(checkpoint)
    shape = _input_shape(spec, fold_preprocess)
    shapes: dict[str, list[list[int]]] = {}
    if backend == "tensorrt":
        from engines.tensorrt import profile_shapes

        shapes = {"input": [list(s) for s in profile_shapes(shape, max_batch)]}
    key = EngineKey(checkpoint_sha256=sha, backend=backend, precision=precision, shapes=shapes,
                    fold_preprocess=fold_preprocess, **env)
    cache = Path(out_dir) if out_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target, reason = find_cached(cache, spec.get("name", "model"), key)
    if reason is None and not force:
        log.info("using the cached build %s (same checkpoint, settings and machine)", target)
        return target
    if reason != "missing":
        log.warning("rebuilding %s: %s", target.name, "forced" if reason is None else reason)
        # The old sidecar describes the old build; it must not outlive it.
        sidecar_path(target).unlink(missing_ok=True)

    onnx_path = target.with_name(target.stem + ".export.onnx")
    try:
        export_model(model, spec, onnx_path, fold_preprocess=fold_preprocess)
        report = validate_onnx(onnx_path, model, spec, fold_preprocess=fold_preprocess,
                               parity_data=parity_data, max_batch=min(8, max_batch))
        out_spec = read_embedded_spec(onnx_path)
        if backend == "onnxruntime":
            if precision == "fp16":
                _convert_fp16(onnx_path)
            onnx_path.replace(target)
            write_sidecar(target, out_spec, key, {"validation": report})
            return target
        info = _build_tensorrt(onnx_path, target, out_spec, key, precision, max_batch, calib_data,
                               cache, force, trt, memory)
        info["engine_parity"] = check_engine(target, onnx_path, out_spec, precision, parity_data,
                                             max_batch, trt, memory)
        write_sidecar(target, out_spec, key, {"validation": report, **info})
        return target
    finally:
        onnx_path.unlink(missing_ok=True)


def _build_tensorrt(onnx_path: Path, target: Path, spec: dict[str, Any], key: EngineKey,
                    precision: str, max_batch: int, calib_data: Any, cache: Path, force: bool,
                    trt: Any, memory: Any) -> dict[str, Any]:
    from engines.tensorrt import DEFAULT_OPT_BATCH, build_engine

    calibrator = None
    if precision == "int8":
        calib_file = target.with_name(target.stem + ".calib")
        if force:
            calib_file.unlink(missing_ok=True)  # recalibrate too when forced
        # Enough for stable histograms, bounded in memory (256 pose crops ~150 MB float32).
        limit = 96 if spec.get("task") == "detector" else 256
        data = model_inputs(spec, calib_data, limit=limit)
        batches = CalibrationBatches(data, min(DEFAULT_OPT_BATCH, max_batch, len(data)))
        calibrator = make_calibrator(trt, batches, calib_file, memory, "input")
    slug = "".join(c if c.isalnum() else "-" for c in key.gpu).strip("-").lower()
    timing = cache / f"timing-{slug}-cc{key.compute_capability}-trt{key.trt_version}.cache"
    info = build_engine(onnx_path, target, precision=precision, max_batch=max_batch,
                        input_size=tuple(spec.get("input_size", (192, 256))), calibrator=calibrator,
                        timing_cache=timing, trt=trt)
    if calibrator is not None:
        info["calibration"] = {"samples": int(len(calibrator.batches.data)),
                               "batch_size": calibrator.batches.batch_size,
                               "source": str(calib_data)}
    return info
