"""Export poselive models to ONNX with the spec embedded in ``metadata_props["poselive_spec"]``."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from poselive.errors import ConfigError, ModelError, require

SPEC_KEY = "poselive_spec"


class FoldedPreprocess(nn.Module):
    """Wraps a model so it takes uint8 NHWC images and normalises them inside the graph."""

    def __init__(self, model: nn.Module, mean, std, swap_rb: bool) -> None:
        super().__init__()
        self.model = model
        self.swap_rb = swap_rb
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("inv_std", 1.0 / torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor):
        x = x.permute(0, 3, 1, 2).float()
        if self.swap_rb:
            x = x.flip(1)  # BGR <-> RGB
        return self.model((x - self.mean) * self.inv_std)


def _resolve(source: Any, spec: dict | None) -> tuple[nn.Module, dict]:
    if isinstance(source, nn.Module):
        spec = spec if spec is not None else getattr(source, "spec", None)
        if not isinstance(spec, dict):
            raise ConfigError("export_onnx needs the model's spec: pass spec=... or a model built "
                              "with poselive.models.build_model")
        return source, spec
    from poselive.models import load_model

    model, file_spec = load_model(Path(source))
    return model, spec if spec is not None else file_spec


def export_onnx(checkpoint_or_model: Any, out_path: str | Path, spec: dict | None = None,
                opset: int = 17, dynamic_batch: bool = True, fold_preprocess: bool = False,
                input_channel_order: str = "bgr") -> Path:
    """Write an ONNX model with the spec embedded; returns ``out_path``.

    Input ``input`` [B,3,H,W] float32, or with ``fold_preprocess`` uint8 [B,H,W,3] in
    ``input_channel_order`` (normalisation and channel swap inside the graph; the embedded
    spec then says ``input_format: uint8_nhwc``). Outputs are named by ``spec["outputs"]``.
    """
    onnx = require("onnx", "torch", "ONNX export")
    model, spec = _resolve(checkpoint_or_model, spec)
    spec = copy.deepcopy(spec)
    model = copy.deepcopy(model).eval().cpu()
    w, h = spec["input_size"]
    out_names = list(spec.get("outputs") or [])
    if not out_names:
        raise ConfigError("the spec lists no 'outputs'; pose specs name simcc_x/simcc_y or heatmaps")
    if fold_preprocess:
        order = input_channel_order.lower()
        if order not in ("bgr", "rgb"):
            raise ConfigError(f"input_channel_order must be 'bgr' or 'rgb', not '{input_channel_order}'")
        model = FoldedPreprocess(model, spec["mean"], spec["std"], order != spec.get("channel_order", "rgb"))
        dummy = torch.zeros(1, h, w, 3, dtype=torch.uint8)
        spec["input_format"] = "uint8_nhwc"
        spec["channel_order"] = order
    else:
        dummy = torch.zeros(1, 3, h, w)
        spec["input_format"] = "float_nchw"
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {"input": {0: "batch"}, **{n: {0: "batch"} for n in out_names}}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # torch 2.13 flags the TorchScript exporter as deprecated; it is still the one that
        # gives plain, TensorRT-friendly graphs for these models.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        # TF-style asymmetric padding exports a reversed-pads Slice that cannot be folded; harmless.
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(model, (dummy,), str(out_path), input_names=["input"], output_names=out_names,
                          opset_version=opset, dynamic_axes=dynamic_axes, do_constant_folding=True,
                          dynamo=False)
    proto = onnx.load(str(out_path))
    fold_pads_into_convs(proto)
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = SPEC_KEY, json.dumps(spec)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out_path))
    return out_path


def fold_pads_into_convs(proto) -> int:
    """Fold zero ``Pad`` nodes into the ``Conv`` they feed (ONNX Conv takes asymmetric pads).

    TensorFlow-style "same" padding (one extra pixel bottom/right before a stride-2 conv)
    exports from PyTorch as a Pad whose pads are computed by a chain of constant ops that
    the exporter cannot fold; runtimes then copy the tensor for every such Pad. The pads are
    evaluated here (onnx's reference evaluator on the constant chain) and moved into the
    Conv, and the chain is dropped. Returns how many Pads were folded.
    """
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    graph = proto.graph
    producers = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    inits = {i.name: i for i in graph.initializer}
    graph_inputs = {i.name for i in graph.input}

    def constant_value(name: str):
        """Evaluate ``name`` if it depends on constants only, else None."""
        if name in inits:
            return numpy_helper.to_array(inits[name])
        needed, stack = [], [name]
        seen = set()
        while stack:
            cur = stack.pop()
            if cur in seen or cur in inits or cur == "":
                continue
            seen.add(cur)
            if cur in graph_inputs or cur not in producers:
                return None
            node = producers[cur]
            if node not in needed:
                needed.append(node)
            stack.extend(node.input)
        order = [n for n in graph.node if n in needed]
        sub = helper.make_graph(order, "pads", [], [helper.make_tensor_value_info(name, 0, None)],
                                initializer=[inits[i] for n in order for i in n.input if i in inits])
        model = helper.make_model(sub, opset_imports=list(proto.opset_import))
        return ReferenceEvaluator(model).run(None, {})[0]

    folded = 0
    for pad in [n for n in graph.node if n.op_type == "Pad"]:
        users = consumers.get(pad.output[0], [])
        mode = next((a.s.decode() for a in pad.attribute if a.name == "mode"), "constant")
        if len(users) != 1 or users[0].op_type != "Conv" or mode != "constant":
            continue
        if len(pad.input) > 2 and pad.input[2]:
            value = constant_value(pad.input[2])
            if value is None or float(np.asarray(value).ravel()[0]) != 0.0:
                continue
        pads = constant_value(pad.input[1])
        if pads is None or len(pads) != 8 or any(pads[[0, 1, 4, 5]]) or (np.asarray(pads) < 0).any():
            continue
        conv = users[0]
        old = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        if any(next((a.s.decode() for a in conv.attribute if a.name == "auto_pad"), "NOTSET") != "NOTSET"
               for _ in [0]):
            continue
        new = [int(old[0] + pads[2]), int(old[1] + pads[3]), int(old[2] + pads[6]), int(old[3] + pads[7])]
        for a in list(conv.attribute):
            if a.name == "pads":
                conv.attribute.remove(a)
        conv.attribute.append(helper.make_attribute("pads", new))
        conv.input[0] = pad.input[0]
        graph.node.remove(pad)
        folded += 1
    # drop what no longer feeds anything (the constant chains)
    outputs = {o.name for o in graph.output}
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    used = {i for n in graph.node for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return folded


def store_float16(path: str | Path, min_size: int = 16) -> dict[str, int]:
    """Store the float32 weights of an ONNX file as float16, each behind a Cast to float32.

    The graph computes in float32 exactly as before (ONNX Runtime folds the casts when it
    loads the model); only the file halves. Lossless for weights that are float16 values
    already (MoveNet's); otherwise it rounds them, so measure accuracy after using it.
    Returns the sizes in bytes before and after.
    """
    onnx = require("onnx", "torch", "ONNX float16 storage")
    from onnx import helper, numpy_helper

    path = Path(path)
    before = path.stat().st_size
    proto = onnx.load(str(path))
    graph = proto.graph
    casts = []
    kept = []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type != onnx.TensorProto.FLOAT or arr.size < min_size:
            kept.append(init)
            continue
        half_name = init.name + "__fp16"
        kept.append(numpy_helper.from_array(arr.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "__cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return {"before": before, "after": path.stat().st_size}


def read_onnx_spec(path: str | Path) -> dict:
    """The poselive spec embedded in an ONNX file ({} for external models without one)."""
    onnx = require("onnx", "torch", "reading ONNX metadata")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"cannot read ONNX model {path}: {exc}") from exc
    for prop in proto.metadata_props:
        if prop.key == SPEC_KEY:
            return json.loads(prop.value)
    return {}


def onnx_parity(model: nn.Module, onnx_path: str | Path, batch_sizes=(1, 3), seed: int = 0) -> float:
    """Largest absolute difference between PyTorch and onnxruntime outputs on random inputs."""
    import onnxruntime as ort

    spec = read_onnx_spec(onnx_path)
    w, h = spec["input_size"]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    model = model.eval()
    for b in batch_sizes:
        if spec.get("input_format") == "uint8_nhwc":
            img = torch.randint(0, 256, (b, h, w, 3), generator=gen, dtype=torch.uint8)
            x = img.permute(0, 3, 1, 2).float()
            if spec.get("channel_order", "rgb") == "bgr":
                x = x.flip(1)
            mean = torch.tensor(spec["mean"]).view(1, 3, 1, 1)
            std = torch.tensor(spec["std"]).view(1, 3, 1, 1)
            x = (x - mean) / std
            feed = img.numpy()
        else:
            x = torch.randn(b, 3, h, w, generator=gen)
            feed = x.numpy()
        with torch.no_grad():
            ref = model(x)
        ref = ref if isinstance(ref, (tuple, list)) else (ref,)
        got = sess.run(None, {"input": feed})
        for r, g in zip(ref, got):
            worst = max(worst, float(np.abs(r.numpy() - g).max()))
    return worst
