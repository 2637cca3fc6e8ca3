"""model-info: parameters, FLOPs and tensor shapes of a checkpoint, spec or preset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode


class _MacCounter(TorchFunctionMode):
    """Counts multiply-accumulates of convolutions, linear layers and matrix products."""

    def __init__(self) -> None:
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in (F.conv1d, F.conv2d, F.conv3d, torch.conv1d, torch.conv2d, torch.conv3d):
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            # every output element needs (C_in / groups) * kernel MACs
            self.macs += out.numel() * weight[0].numel()
        elif func in (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d):
            inp = args[0]
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            # every input element is spread over C_out / groups * kernel outputs
            self.macs += inp.numel() * weight[0].numel()
        elif func is F.linear:
            weight = args[1] if len(args) > 1 else kwargs["weight"]
            self.macs += out.numel() * weight.shape[-1]
        elif func in (torch.matmul, torch.bmm, torch.mm, torch.Tensor.matmul, torch.Tensor.__matmul__):
            a = args[0]
            self.macs += out.numel() * a.shape[-1]
        return out


def count_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (conv, deconv, linear, matmul)."""
    counter = _MacCounter()
    with torch.no_grad(), counter:
        model(*inputs)
    return int(counter.macs)


def count_params(model: nn.Module) -> int:
    """Number of parameters (shared tensors counted once)."""
    return sum(p.numel() for p in model.parameters())


def _resolve(source: Any) -> tuple[nn.Module, dict]:
    from poselive.models import build_model, load_model
    from poselive.models.presets import PRESETS

    if isinstance(source, dict):
        return build_model(source).eval(), source
    if isinstance(source, str) and source in PRESETS:
        from poselive.models.presets import preset_spec

        spec = preset_spec(source)
        return build_model(spec).eval(), spec
    return load_model(Path(source))


def model_info(source: Any, batch: int = 1) -> dict[str, Any]:
    """Params, GFLOPs (1 multiply-add = 1 FLOP) and I/O shapes of a checkpoint path, spec or preset name."""
    model, spec = _resolve(source)
    w, h = spec["input_size"]
    x = torch.zeros(batch, 3, h, w)
    macs = count_macs(model, x)
    with torch.no_grad():
        out = model(x)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    names = spec.get("outputs") or [f"output{i}" for i in range(len(outs))]
    return {
        "name": spec.get("name", ""),
        "task": spec.get("task", ""),
        "params": count_params(model),
        "gflops": macs / 1e9,
        "input": {"name": "input", "shape": [batch, 3, h, w]},
        "outputs": {n: list(o.shape) for n, o in zip(names, outs)},
        "keypoint_set": spec.get("keypoint_set"),
        "codec": spec.get("codec"),
    }


def format_model_info(info: dict[str, Any]) -> str:
    """Human-readable text of ``model_info``'s dict."""
    params = info["params"]
    lines = [
        f"model      {info['name']} ({info['task']})",
        f"params     {params / 1e6:.3f} M ({params:,})",
        f"FLOPs      {info['gflops']:.3f} G  (multiply-adds at batch {info['input']['shape'][0]})",
        f"input      {info['input']['name']} {info['input']['shape']}",
    ]
    for name, shape in info["outputs"].items():
        lines.append(f"output     {name} {shape}")
    if info.get("keypoint_set"):
        lines.append(f"keypoints  {info['keypoint_set']}")
    if info.get("codec"):
        lines.append(f"codec      {info['codec'].get('type')}")
    return "\n".join(lines)


__all__ = ["model_info", "format_model_info", "count_macs", "count_params"]
