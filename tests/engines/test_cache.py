"""Engine cache: keys, file names, spec sidecars, compatibility checks, staleness."""

from __future__ import annotations

import json

import pytest

from engines.cache import (EngineKey, check_compatible, engine_filename, file_sha256, find_cached,
                           read_sidecar, sidecar_path, stale_reason, write_sidecar)
from poselive.errors import ModelError

SPEC = {"task": "pose", "name": "poselive-pose-t", "keypoint_set": "coco17", "input_size": [192, 256],
        "outputs": ["simcc_x", "simcc_y"]}


def _key(**kw) -> EngineKey:
    base = dict(checkpoint_sha256="ab" * 32, backend="tensorrt", precision="fp16",
                shapes={"input": [[1, 3, 256, 192], [8, 3, 256, 192], [32, 3, 256, 192]]},
                trt_version="10.3.0", gpu="NVIDIA A100-SXM4-40GB", compute_capability="8.0")
    base.update(kw)
    return EngineKey(**base)


def test_model_id_depends_on_model_settings_not_on_machine():
    k = _key()
    assert k.model_id() == _key().model_id()
    # The file name must not change with the machine, so a stale engine is *found* and replaced.
    assert k.model_id() == _key(trt_version="10.8.0", gpu="NVIDIA H100", compute_capability="9.0").model_id()
    for change in ({"precision": "int8"}, {"checkpoint_sha256": "cd" * 32},
                   {"shapes": {"input": [[1, 3, 256, 192], [8, 3, 256, 192], [16, 3, 256, 192]]}},
                   {"fold_preprocess": True}):
        assert _key(**change).model_id() != k.model_id(), change


def test_engine_filename_extension_and_safe_name():
    assert engine_filename("poselive-pose-t", _key()).endswith(".engine")
    name = engine_filename("my model/v2", _key(backend="onnxruntime", trt_version="", gpu=""))
    assert name.endswith(".onnx") and "/" not in name and " " not in name


def test_sidecar_round_trip_keeps_spec_at_top_level(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    p = write_sidecar(engine, SPEC, _key(), {"validation": {"inputs": 3}})
    assert p == tmp_path / "m.engine.spec.json" == sidecar_path(engine)
    data = read_sidecar(engine)
    assert data["keypoint_set"] == "coco17" and data["input_size"] == [192, 256]
    assert data["build"]["gpu"] == "NVIDIA A100-SXM4-40GB" and data["build"]["validation"] == {"inputs": 3}
    assert read_sidecar(p) == data  # the sidecar path itself is accepted too


def test_missing_and_corrupt_sidecars_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="no spec sidecar"):
        read_sidecar(tmp_path / "none.engine")
    bad = tmp_path / "bad.engine.spec.json"
    bad.write_text("{not json")
    with pytest.raises(ModelError, match="corrupt"):
        read_sidecar(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ModelError, match="JSON object"):
        read_sidecar(bad)


def test_check_compatible_accepts_match_and_lists_every_mismatch(tmp_path):
    engine = tmp_path / "m.engine"
    write_sidecar(engine, SPEC, _key())
    spec = check_compatible(engine, {"task": "pose", "keypoint_set": "coco17", "input_size": (192, 256),
                                     "precision": "fp16"})
    assert spec["name"] == "poselive-pose-t"
    with pytest.raises(ModelError) as e:
        check_compatible(engine, {"keypoint_set": "halpe26", "task": "detector"})
    msg = str(e.value)
    assert "keypoint_set" in msg and "halpe26" in msg and "task" in msg and "poselive build" in msg


def test_check_compatible_explains_other_machine():
    spec = {**SPEC, "build": _key().to_dict()}
    with pytest.raises(ModelError, match="another machine or TensorRT version"):
        check_compatible(spec, {"gpu": "NVIDIA H100", "trt_version": "10.3.0"})
    with pytest.raises(ModelError, match="does not say"):
        check_compatible({"task": "pose"}, {"keypoint_set": "coco17"})


def test_stale_reason_names_versions_and_gpus():
    built = {**SPEC, "build": _key().to_dict()}
    assert stale_reason(built, _key()) is None
    why = stale_reason(built, _key(trt_version="10.8.0", gpu="NVIDIA H100 80GB HBM3", compute_capability="9.0"))
    assert "10.3.0" in why and "A100" in why and "10.8.0" in why and "H100" in why
    why = stale_reason(built, _key(precision="fp32"))
    assert "precision" in why


def test_find_cached_missing_fresh_stale_and_corrupt(tmp_path):
    key = _key()
    path, reason = find_cached(tmp_path, "pose", key)
    assert reason == "missing" and path.parent == tmp_path
    path.write_bytes(b"engine")
    _, reason = find_cached(tmp_path, "pose", key)
    assert "no spec sidecar" in reason
    write_sidecar(path, SPEC, key)
    assert find_cached(tmp_path, "pose", key) == (path, None)
    other = _key(gpu="NVIDIA L4", compute_capability="8.9")
    path2, reason = find_cached(tmp_path, "pose", other)
    assert path2 == path and "NVIDIA L4" in reason


def test_file_sha256(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"poselive")
    import hashlib

    assert file_sha256(f) == hashlib.sha256(b"poselive").hexdigest()
    assert json.loads(json.dumps(_key().to_dict()))["precision"] == "fp16"
