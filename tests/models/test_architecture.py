"""Architecture facts: parameter counts, FLOPs and output shapes of the presets."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from poselive.errors import ConfigError  # noqa: E402
from poselive.models import build_model, pose_spec, preset_names, preset_spec  # noqa: E402
from poselive.models.info import count_macs, count_params, format_model_info, model_info  # noqa: E402

# Published sizes: RTMPose-t/s/m at 256x192 and RTMDet-nano at 320x320 (params, GFLOPs).
PUBLISHED = {
    "poselive-pose-t": (3.34e6, 0.36),
    "poselive-pose-s": (5.47e6, 0.68),
    "poselive-pose-m": (13.59e6, 1.93),
    "poselive-det-nano": (0.99e6, 0.31),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_and_flops_match_published_sizes(name):
    info = model_info(name)
    params, gflops = PUBLISHED[name]
    assert info["params"] == pytest.approx(params, rel=0.05)
    assert info["gflops"] == pytest.approx(gflops, rel=0.05)
    text = format_model_info(info)
    assert name in text and "FLOPs" in text


def test_flop_counter_counts_convs_linears_and_matmuls():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 3, padding=1, groups=8),
                              torch.nn.ConvTranspose2d(8, 4, 4, 2, 1), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 20 * 20, 5))
    x = torch.zeros(2, 3, 10, 10)
    expected = 2 * (8 * 100 * 27 + 8 * 100 * 9 + 8 * 100 * 4 * 16 + 5 * 1600)
    assert count_macs(net, x) == expected

    class MatMul(torch.nn.Module):
        def forward(self, a):
            return torch.matmul(a, a.transpose(1, 2))

    assert count_macs(MatMul(), torch.zeros(3, 4, 5)) == 3 * 4 * 4 * 5


@pytest.mark.parametrize("name", preset_names())
def test_forward_shapes(name):
    spec = preset_spec(name)
    model = build_model(spec).eval()
    w, h = spec["input_size"]
    with torch.no_grad():
        out = model(torch.zeros(2, 3, h, w))
    if spec["task"] == "detector":
        boxes, scores = out
        n = sum((h // s) * (w // s) for s in (8, 16, 32))
        assert boxes.shape == (2, n, 4) and scores.shape == (2, n)
        assert float(scores.min()) >= 0 and float(scores.max()) <= 1
    elif spec["outputs"] == ["simcc_x", "simcc_y"]:
        x, y = out
        assert x.shape == (2, 17, w * 2) and y.shape == (2, 17, h * 2)
    elif spec["codec"]["type"] == "movenet":  # centre, heatmaps, regression, offsets at stride 4
        shapes = [tuple(o.shape) for o in out]
        assert shapes == [(2, c, h // 4, w // 4) for c in (1, 17, 34, 34)]
        assert float(out[1].min()) >= 0 and float(out[1].max()) <= 1
    else:
        assert out.shape == (2, 17, *spec["codec"]["heatmap_size"][::-1])
    assert count_params(model) > 0


def test_other_keypoint_sets_and_sizes():
    spec = pose_spec("t", keypoint_set="halpe26", input_size=(128, 160))
    model = build_model(spec).eval()
    with torch.no_grad():
        x, y = model(torch.zeros(1, 3, 160, 128))
    assert x.shape == (1, 26, 256) and y.shape == (1, 26, 320)
    hm = build_model(pose_spec("t", keypoint_set="hand21", input_size=(64, 64), head="heatmap")).eval()
    with torch.no_grad():
        assert hm(torch.zeros(1, 3, 64, 64)).shape == (1, 21, 16, 16)
    # changing top-level fields beside a preset is enough: the arch follows them
    spec = preset_spec("rtmpose-t")
    spec["keypoint_set"] = "coco_wholebody133"
    model = build_model(spec)
    assert model.spec["arch"]["head"]["num_keypoints"] == 133
    # the detector is fully convolutional: other multiples of 32 work
    det = build_model(preset_spec("poselive-det-nano")).eval()
    with torch.no_grad():
        boxes, scores = det(torch.zeros(1, 3, 64, 96))
    assert boxes.shape == (1, 12 * 8 + 6 * 4 + 3 * 2, 4)


def test_bad_specs_raise_config_errors():
    with pytest.raises(ConfigError, match="known"):
        preset_spec("poselive-pose-xxl")
    with pytest.raises(ConfigError, match="arch"):
        build_model({"task": "pose"})
    spec = preset_spec("poselive-pose-t")
    spec["arch"]["backbone"]["type"] = "resnet-9000"
    with pytest.raises(ConfigError, match="backbone"):
        build_model(spec)
    spec = preset_spec("poselive-pose-t")
    spec["arch"]["head"]["not_a_param"] = 3
    with pytest.raises(ConfigError, match="head"):
        build_model(spec)
    with pytest.raises(ConfigError, match="multiple of 32"):
        pose_spec("t", input_size=(100, 100))
