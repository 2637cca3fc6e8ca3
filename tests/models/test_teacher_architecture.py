"""Our RTMDet-nano-sized detector has the same convolutions as the real RTMDet-nano teacher."""

from __future__ import annotations

from collections import Counter

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from poselive.models import build_model, preset_spec  # noqa: E402


def _teacher_convs(path) -> Counter:
    proto = onnx.load(str(path))
    shapes = {i.name: tuple(i.dims) for i in proto.graph.initializer}
    convs = Counter()
    for node in proto.graph.node:
        if node.op_type == "Conv":
            group = next((a.i for a in node.attribute if a.name == "group"), 1)
            convs[(shapes[node.input[1]], group)] += 1
    return convs


def _our_convs(model, size) -> Counter:
    convs = Counter()

    def hook(mod, _inp, _out):
        convs[(tuple(mod.weight.shape), mod.groups)] += 1

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return convs


def test_detector_convolutions_match_rtmdet_nano(teachers):
    torch.set_num_threads(1)
    teacher = _teacher_convs(teachers / "rtmdet-nano-person.onnx")
    ours = _our_convs(build_model(preset_spec("poselive-det-nano")).eval(), 320)
    # every executed convolution (shared head convs counted once per level) has its twin
    assert ours == teacher
