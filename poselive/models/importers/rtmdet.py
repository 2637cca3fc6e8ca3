"""RTMDet-nano person detector exported by MMDeploy ("end2end" ONNX) -> a poselive-det-nano checkpoint.

The source graph holds RTMDet-nano with batch norm folded into the convolutions' biases,
followed by MMDeploy's post-processing (box decoding, top-k, NonMaxSuppression). Our
``poselive-det-nano`` preset has the same convolutions, so the import pairs the source's
convolutions with ours by graph structure and copies the weights:

- both graphs (the source, and ours exported to ONNX with its BatchNorm nodes kept) are
  walked the same way: from the head's prediction convolutions (ordered by stride, then
  class before box), depth first through each node's inputs in argument order (the inputs
  of commutative Add/Mul by their depth from the image), so every convolution gets its
  place in a canonical order that does not depend on how the exporter numbered nodes;
- each pair must agree in kernel shape, groups and stride, else the file is refused;
- our batch norms become the identity with the source's folded bias as their shift, so the
  model stays the trainer's usual architecture (fine-tune with ``freeze_bn: true``);
- RTMDet-nano's head keeps separate convolutions per level (MMDetection's weight sharing
  does not reach depthwise-separable convs), so the import builds the head unshared.

The graph's NMS settings (score threshold, IoU threshold, candidates before NMS,
detections kept) are read from its nodes into the spec, and the raw-detector adapter
applies them, so the imported model keeps the same persons as the source.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from poselive.errors import ModelError

NAME = "rtmdet"
DESCRIPTION = "RTMDet-nano person detector, MMDeploy end2end ONNX -> poselive-det-nano"
LICENSE = "Apache-2.0"
PRESET = "poselive-det-nano"
_COMMUTATIVE = {"Add", "Mul", "Sum", "Max", "Min"}


def matches(onnx_model: Any) -> bool:
    """True for an MMDeploy end2end detector graph: ``dets``/``labels`` outputs, NMS inside, convolutions."""
    graph = onnx_model.graph
    outputs = {o.name for o in graph.output}
    ops = {n.op_type for n in graph.node}
    return {"dets", "labels"} <= outputs and "NonMaxSuppression" in ops and "Conv" in ops


# ----------------------------------------------------------------------------- graph walking
class _Graph:
    """The parts of an ONNX graph the pairing needs: producers, constants, conv strides/depths."""

    def __init__(self, graph: Any) -> None:
        from onnx import numpy_helper

        self.nodes = list(graph.node)
        self.inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.producer = {o: n for n in self.nodes for o in n.output}
        for n in self.nodes:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        self.inits[n.output[0]] = numpy_helper.to_array(a.t)
        self.consumers: dict[str, list] = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.stride: dict[str, float] = {}
        self.depth: dict[str, int] = {}
        for i in graph.input:
            self.stride[i.name], self.depth[i.name] = 1.0, 0
        for n in self.nodes:  # ONNX nodes are topologically sorted
            ins = [i for i in n.input if i in self.stride]
            s = next((self.stride[i] for i in ins if self.stride[i]), 0.0)  # constants have none
            d = max((self.depth[i] for i in ins), default=0)
            if n.op_type == "Conv":
                s *= _attr(n, "strides", [1, 1])[0]
                d += 1
            elif n.op_type in ("Resize", "Upsample") and s:
                s /= 2.0
            for o in n.output:
                self.stride[o], self.depth[o] = s, d
        self.convs = [n for n in self.nodes if n.op_type == "Conv"]

    def weight(self, conv: Any) -> np.ndarray:
        return self.inits[conv.input[1]]

    def terminal_convs(self) -> list:
        """Convolutions from whose output no other convolution is reached (the head's predictions)."""
        reaches: dict[str, bool] = {}
        for n in reversed(self.nodes):
            hit = False
            for o in n.output:
                for c in self.consumers.get(o, []):
                    hit = hit or c.op_type == "Conv" or reaches.get(id(c), False)
            reaches[id(n)] = hit
        return [c for c in self.convs if not reaches[id(c)]]

    def canonical_convs(self) -> list:
        """Every convolution once, in the structure-defined order described in the module doc."""
        heads = sorted(self.terminal_convs(), key=lambda c: (self.stride[c.output[0]], self.weight(c).shape[0]))
        order, seen = [], set()
        stack = [(h, False) for h in reversed(heads)]
        while stack:  # iterative post-order DFS (the graph is deep enough to matter for recursion)
            node, expanded = stack.pop()
            if expanded:
                if node.op_type == "Conv":
                    order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            inputs = [i for i in node.input if i in self.producer]
            if node.op_type in _COMMUTATIVE:
                inputs = sorted(inputs, key=lambda i: self.depth.get(i, 0))
            for i in reversed(inputs):
                stack.append((self.producer[i], False))
        return order

    def scalar(self, name: str) -> float | None:
        """The value of a constant (initializer or Constant node) with one element, else None."""
        v = self.inits.get(name)
        return float(np.asarray(v).reshape(-1)[0]) if v is not None and np.asarray(v).size == 1 else None

    def ancestor_constants(self, name: str, depth: int = 4) -> list[float]:
        """Scalar constants among the producers of ``name`` up to ``depth`` nodes back."""
        out, frontier = [], [name]
        for _ in range(depth):
            nxt = []
            for t in frontier:
                v = self.scalar(t)
                if v is not None:
                    out.append(v)
                elif t in self.producer:
                    nxt.extend(self.producer[t].input)
            frontier = nxt
        return out


def _attr(node: Any, name: str, default: Any) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def nms_settings(g: _Graph) -> dict[str, Any]:
    """Score threshold, IoU threshold and the top-k before and after NMS, read from the graph."""
    nms = [n for n in g.nodes if n.op_type == "NonMaxSuppression"]
    if len(nms) != 1 or len(nms[0].input) < 5:
        raise ModelError("the graph's NonMaxSuppression node has no IoU/score thresholds; "
                         "expected an MMDeploy end2end RTMDet export")
    n = nms[0]
    iou, score = g.scalar(n.input[3]), g.scalar(n.input[4])
    if iou is None or score is None:
        raise ModelError("the graph's NMS thresholds are not constants; expected an MMDeploy end2end export")
    pos = {id(x): i for i, x in enumerate(g.nodes)}
    before, after = [], []
    for t in (x for x in g.nodes if x.op_type == "TopK"):
        ks = [int(v) for v in g.ancestor_constants(t.input[1]) if v >= 1 and float(v).is_integer()]
        if ks:
            (before if pos[id(t)] < pos[id(n)] else after).append(max(ks))
    settings = {"nms_iou": round(iou, 6), "nms_score_threshold": round(score, 6)}
    if before:
        settings["pre_nms_top_k"] = min(before)
    if after:
        settings["max_detections"] = min(after)
    return settings


# ----------------------------------------------------------------------------- our side
def _our_graph(model: Any, size: int) -> tuple[_Graph, dict[str, str]]:
    """Our detector as an ONNX graph with BatchNorm nodes kept (conv weights keep their names),
    and the map from each conv node's output to the BN scale parameter that follows it."""
    import io
    import warnings

    import onnx
    import torch

    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(1, 3, size, size),), buf, input_names=["input"],
                          output_names=["boxes", "scores"], opset_version=17, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE, dynamo=False)
    g = _Graph(onnx.load_from_string(buf.getvalue()).graph)
    bn_after = {}
    for c in g.convs:
        nxt = g.consumers.get(c.output[0], [])
        if len(nxt) == 1 and nxt[0].op_type == "BatchNormalization":
            bn_after[c.output[0]] = nxt[0].input[1]  # the BN's scale (gamma) parameter name
    return g, bn_after


def _file_hashes(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def import_model(path: str | Path, name: str = PRESET, license: str = LICENSE, input_size: int = 320,
                 **_: Any) -> dict[str, Any]:
    """Read an MMDeploy end2end RTMDet-nano ONNX file; returns ``{"spec", "state_dict", "model", "report"}``.

    ``spec`` is a ``poselive-det-nano`` spec with the source's NMS settings and provenance
    (file name, sha256, md5, license), ``state_dict`` its weights, ``model`` the built
    PersonDetector holding them, ``report`` what was matched. Save it with
    ``poselive.models.save_checkpoint(out, model, spec)``.
    """
    import onnx
    import torch

    from poselive.models import build_model, preset_spec
    from poselive.models.layers import BN_EPS

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no such file: {path}")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # protobuf raises several types for foreign files
        raise ModelError(f"{path.name} is not an ONNX model ({type(exc).__name__}); "
                         "expected RTMDet-nano exported by MMDeploy (end2end)") from exc
    if not matches(proto):
        raise ModelError(f"{path.name} is not an MMDeploy end2end detector (it needs 'dets'/'labels' "
                         "outputs and NMS inside); expected RTMDet-nano exported by MMDeploy")
    src = _Graph(proto.graph)
    spec = preset_spec(PRESET)
    spec["name"] = name
    # MMDetection's RTMDetSepBNHead shares its level convolutions only for plain ConvModules;
    # with depthwise-separable convs (RTMDet-nano) every level keeps its own weights, and so
    # do the source's convolutions (checked: they are not scaled copies of each other).
    spec["arch"]["head"]["share_conv"] = False
    model = build_model(spec).eval()
    ours, bn_after = _our_graph(model, input_size)
    src_convs, our_convs = src.canonical_convs(), ours.canonical_convs()
    if len(src_convs) != len(our_convs):
        raise ModelError(f"{path.name} has {len(src_convs)} convolutions where {PRESET} has {len(our_convs)}; "
                         "it is not RTMDet-nano (person)")

    params = dict(model.named_parameters())
    new: dict[str, torch.Tensor] = {}
    for k, (s, o) in enumerate(zip(src_convs, our_convs)):
        ws, wo_name = src.weight(s), o.input[1]
        wo = params[wo_name]
        same = (tuple(ws.shape) == tuple(wo.shape) and _attr(s, "group", 1) == _attr(o, "group", 1)
                and src.stride[s.output[0]] == ours.stride[o.output[0]])
        if not same:
            raise ModelError(f"{path.name}: convolution {k} ({tuple(ws.shape)}, groups {_attr(s, 'group', 1)}) "
                             f"does not match {PRESET}'s {wo_name} ({tuple(wo.shape)}, groups "
                             f"{_attr(o, 'group', 1)}); it is not RTMDet-nano (person)")
        bias = src.inits[s.input[2]] if len(s.input) > 2 and s.input[2] else np.zeros(ws.shape[0], np.float32)
        gamma_name = bn_after.get(o.output[0])  # the BN after our conv, by its scale's name
        if gamma_name is None:  # the prediction convolutions: weight and bias, no BN
            new[wo_name] = torch.from_numpy(ws.copy())
            new[wo_name.rsplit(".", 1)[0] + ".bias"] = torch.from_numpy(bias.copy())
            continue
        if wo_name in new:
            raise ModelError(f"{path.name}: {PRESET}'s {wo_name} pairs with two source convolutions")
        new[wo_name] = torch.from_numpy(ws.copy())
        bn = gamma_name.rsplit(".", 1)[0]
        # Identity statistics: BN(y) = (y - 0) / sqrt(1 - eps + eps) * 1 + bias = y + bias.
        new[bn + ".weight"] = torch.ones(ws.shape[0])
        new[bn + ".bias"] = torch.from_numpy(bias.astype(np.float32).copy())
        new[bn + ".running_mean"] = torch.zeros(ws.shape[0])
        new[bn + ".running_var"] = torch.full((ws.shape[0],), 1.0 - BN_EPS)
    state = model.state_dict()
    missing = [k for k in state if k not in new and not k.endswith("num_batches_tracked")]
    if missing:
        raise ModelError(f"{path.name}: no source weights for {missing[:5]}")
    state.update(new)
    model.load_state_dict(state)

    sha, md5 = _file_hashes(path)
    nms = nms_settings(src)
    spec.update(nms)
    spec["nms"] = "outside"
    spec["provenance"] = {
        "imported_from": path.name, "source_sha256": sha, "source_md5": md5, "importer": NAME,
        "license": license,
        "source_format": "MMDeploy end2end ONNX (RTMDet, NMS inside)",
        "source_model": "RTMDet-nano person detector (COCO + Objects365 persons), "
                        "from the history of the OpenMMLab MMPose repository",
        "batch_norm": "folded into the source's convolution biases; imported as identity statistics "
                      "(fine-tune with freeze_bn: true)",
        "source_nms": nms,
    }
    model.spec = spec
    report = {"convolutions": len(src_convs), **nms}
    return {"spec": spec, "state_dict": model.state_dict(), "model": model, "report": report}
