"""Training-side prediction agrees with the inference pipeline (same geometry, same codec)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
models = pytest.importorskip("poselive.models")

from trainer.data.transforms import uses_udp  # noqa: E402
from trainer.evaluate import evaluate  # noqa: E402
from trainer.predict import TorchPosePredictor, open_pose_predictor  # noqa: E402

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    spec = models.preset_spec("rtmpose-t")
    spec = {**spec, "input_size": [64, 96]}
    model = models.build_model(spec).eval()
    path = tmp_path_factory.mktemp("ckpt") / "pose.pth"
    models.save_checkpoint(path, model, model.spec)
    return path


def test_checkpoint_and_onnx_predict_the_same_keypoints(shared, small_checkpoint, tmp_path):
    from poselive.models.export import export_onnx

    onnx_path = export_onnx(small_checkpoint, tmp_path / "pose.onnx")
    img = cv2.imread(str(shared / "data/videos/messi5.jpg"))
    boxes = np.array([[200, 40, 330, 330], [10, 10, 120, 200]], np.float32)
    torch_fn, spec = open_pose_predictor(small_checkpoint)
    onnx_fn, onnx_spec = open_pose_predictor(onnx_path)
    assert isinstance(torch_fn, TorchPosePredictor) and onnx_spec["input_size"] == [64, 96]
    k1, s1 = torch_fn(img, boxes)
    k2, s2 = onnx_fn(img, boxes)
    assert k1.shape == k2.shape == (2, 17, 2)
    np.testing.assert_allclose(s1, s2, atol=1e-3)
    # argmax decoding: equal bins, except where two bins are within float noise of each other
    close = np.linalg.norm(k1 - k2, axis=-1) < 1e-3
    assert close.mean() > 0.9


def test_evaluate_a_checkpoint(shared, small_checkpoint, tmp_path):
    root = shared / "data/coco-mini"
    coco = json.loads((root / "annotations/person_keypoints_val2017.json").read_text())
    coco["images"] = coco["images"][:3]
    ids = {im["id"] for im in coco["images"]}
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(coco))
    res = evaluate(small_checkpoint, ann, root / "val2017", out_json=tmp_path / "out.json", progress=False)
    assert res["persons"] == sum(1 for a in coco["annotations"] if not a["iscrowd"])
    assert -1.0 <= res["AP"] <= 1.0 and (tmp_path / "out.results.json").is_file()


def test_udp_rule_matches_the_pipeline():
    from poselive.stages.adapters.base import uses_udp as pipeline_uses_udp

    for spec in ({"codec": {"type": "simcc"}}, {"codec": {"type": "udp_heatmap"}}, {"codec": {"type": "msra_heatmap"}},
                 {"udp": True, "codec": {"type": "simcc"}}, {"codec": {"type": "msra_heatmap", "use_udp": True}}):
        assert uses_udp(spec) == pipeline_uses_udp(spec)
