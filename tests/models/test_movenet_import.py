"""MoveNet in poselive's own definitions: import from the teacher ONNX files, parity on real
COCO person crops, the exported ONNX (dynamic batch), and clear errors for other files."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from engines.onnxruntime import OrtEngine  # noqa: E402
from poselive.errors import ModelError  # noqa: E402
from poselive.models import build_model, load_model, preset_spec  # noqa: E402
from poselive.models.importers import find_importer, import_checkpoint, import_file, load_onnx  # noqa: E402
from poselive.stages.adapters import MoveNetMapsPose, MoveNetPose, build_pose_adapter  # noqa: E402
from trainer.predict import TorchPosePredictor  # noqa: E402

from tests.conftest import REPO  # noqa: E402


def val_persons(shared, limit: int):
    """(image, boxes [N,4] xyxy) for coco-mini val2017 persons with keypoints, up to ``limit``."""
    coco = shared / "data" / "coco-mini"
    ann = json.loads((coco / "annotations" / "person_keypoints_val2017.json").read_text())
    by_image: dict[int, list] = {}
    for a in ann["annotations"]:
        if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd"):
            x, y, w, h = a["bbox"]
            by_image.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
    files = {im["id"]: im["file_name"] for im in ann["images"]}
    out, n = [], 0
    for image_id in sorted(by_image):
        if n >= limit:
            break
        boxes = np.array(by_image[image_id][:limit - n], np.float32)
        out.append((cv2.imread(str(coco / "val2017" / files[image_id])), boxes))
        n += len(boxes)
    return out


@pytest.fixture(scope="module")
def imported(teachers):
    """Both MoveNet variants imported: {variant: (model, spec, teacher path)}."""
    out = {}
    for v in ("lightning", "thunder"):
        src = teachers / f"movenet-{v}.onnx"
        ckpt = import_checkpoint(src)
        model = build_model(ckpt["spec"])
        model.load_state_dict(ckpt["state_dict"])
        out[v] = (model.eval(), ckpt["spec"], src)
    return out


def test_presets_match_movenet_structure():
    for name, convs, size in (("movenet-lightning", 74, 192), ("movenet-thunder", 74, 256)):
        model = build_model(preset_spec(name)).eval()
        n = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
        assert n == convs
        with torch.no_grad():
            c, h, r, o = model(torch.zeros(2, 3, size, size))
        assert c.shape == (2, 1, size // 4, size // 4) and h.shape[1] == 17
        assert r.shape[1] == o.shape[1] == 34


@pytest.mark.parametrize("variant,persons", [("lightning", 68), ("thunder", 30)])
def test_import_parity_on_real_crops(imported, shared, variant, persons):
    """Keypoints within 0.5 px (original image) and scores within 1e-3 of the source ONNX."""
    model, spec, src = imported[variant]
    assert spec["provenance"]["license"].startswith("Apache-2.0")
    teacher = MoveNetPose(OrtEngine(src, threads=2), padding=1.25)
    ours = TorchPosePredictor(model, {**spec, "box_padding": 1.25})
    worst_px, worst_score, n = 0.0, 0.0, 0
    for image, boxes in val_persons(shared, persons):
        k1, s1 = teacher.estimate(image, boxes)
        k2, s2 = ours(image, boxes)
        worst_px = max(worst_px, float(np.abs(k1 - k2).max()))
        worst_score = max(worst_score, float(np.abs(s1 - s2).max()))
        n += len(boxes)
    assert n == persons
    assert worst_px < 0.5, worst_px
    assert worst_score < 1e-3, worst_score


def test_exported_onnx_dynamic_batch_matches_torch(imported, shared, tmp_path):
    """The built graph outputs the raw maps with a dynamic batch; one call gives torch's keypoints."""
    from poselive.models.export import export_onnx

    model, spec, _ = imported["lightning"]
    path = export_onnx(model, tmp_path / "lightning.onnx", spec={**spec, "box_padding": 1.25})
    engine = OrtEngine(path, threads=2)
    assert [o.name for o in engine.outputs] == spec["outputs"]
    adapter = build_pose_adapter(engine)
    assert isinstance(adapter, MoveNetMapsPose) and adapter.run.batch is None
    calls = []
    run = engine.run
    engine.run = lambda feed: calls.append(len(next(iter(feed.values())))) or run(feed)
    ours = TorchPosePredictor(model, {**spec, "box_padding": 1.25})
    for image, boxes in val_persons(shared, 20):
        k1, s1 = adapter.estimate(image, boxes)
        k2, s2 = ours(image, boxes)
        assert np.abs(k1 - k2).max() < 0.5 and np.abs(s1 - s2).max() < 1e-3
        assert ((s1 >= 0) & (s1 <= 1)).all()
    assert calls and all(c >= 1 for c in calls) and max(calls) > 1  # one call per frame, batched


def test_import_cli_writes_self_describing_checkpoint(teachers, tmp_path):
    out = tmp_path / "lightning.pt"
    proc = subprocess.run([sys.executable, "-m", "poselive", "import", str(teachers / "movenet-lightning.onnx"),
                           "--out", str(out), "--name", "my-lightning", "--license", "Apache-2.0", "--half"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    model, spec = load_model(out)
    prov = spec["provenance"]
    assert spec["name"] == "my-lightning" and prov["imported_from"] == "movenet-lightning.onnx"
    assert len(prov["source_sha256"]) == 64 and prov["license"] == "Apache-2.0"
    assert next(model.parameters()).dtype == torch.float32
    # float16 storage is lossless for MoveNet's weights (they are float16 values already)
    ref = import_checkpoint(teachers / "movenet-lightning.onnx")["state_dict"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k]), k


def _identity_onnx(path):
    """A valid ONNX model that no importer knows."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), str(path))
    return path


def test_unknown_and_mismatched_sources_fail_with_one_line(teachers, tmp_path):
    other = _identity_onnx(tmp_path / "other.onnx")
    with pytest.raises(ModelError, match="not a model poselive can import"):
        find_importer(load_onnx(other), other)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file at all")
    with pytest.raises(ModelError, match="not an ONNX model"):
        import_file(junk, tmp_path / "x.pt")
    with pytest.raises(ModelError, match="not a MoveNet"):  # a detector given to the MoveNet importer
        import_file(teachers / "rtmdet-nano-person.onnx", tmp_path / "x.pt", importer="movenet")
    for src in (junk, other, tmp_path / "missing.onnx"):
        proc = subprocess.run([sys.executable, "-m", "poselive", "import", str(src), "--out", str(tmp_path / "y.pt")],
                              capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("poselive: error:"), proc.stderr
        assert not (tmp_path / "y.pt").exists()
