"""PyTorch backend: runs an nn.Module eagerly; numpy in, numpy out.

torch is imported lazily so that ``import engines`` works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engines.base import TensorInfo
from poselive.errors import ConfigError, MissingExtraError, ModelError

# Rank of each known output name of the spec contract (batch dimension included).
_OUTPUT_RANKS = {"simcc_x": 3, "simcc_y": 3, "heatmaps": 4, "boxes": 3, "scores": 2,
                 "dets": 3, "labels": 2}


def _import_torch():
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "torch", "the PyTorch backend") from exc
    return torch


class TorchEngine:
    """A PyTorch model with its spec behind the Engine protocol."""

    backend = "torch"

    def __init__(self, model: Any, spec: dict[str, Any], device: str = "cpu", half: bool = False,
                 channels_last: bool = False) -> None:
        torch = _import_torch()
        self._torch = torch
        self.spec = dict(spec or {})
        dev = torch.device(device or "cpu")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device '{device}' asked for, but this torch has no CUDA; "
                              "use device='cpu' or install a CUDA build of torch")
        self.device = dev
        self.half = bool(half)
        self.channels_last = bool(channels_last)
        model = model.eval().to(dev)
        if self.half:
            model = model.half()
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model

        fmt = self.spec.get("input_format", "float_nchw")
        size = self.spec.get("input_size")
        w, h = (int(size[0]), int(size[1])) if size else (None, None)
        if fmt == "uint8_nhwc":
            self.inputs = [TensorInfo("input", (None, h, w, 3), "uint8")]
        else:
            self.inputs = [TensorInfo("input", (None, 3, h, w), "float32")]
        names = list(self.spec.get("outputs") or [])
        self._output_names = names
        if size:
            # One dummy batch gives exact output shapes and checks the spec's output list.
            shape = self.inputs[0].shape
            dummy = np.zeros((1, *shape[1:]), self.inputs[0].dtype)
            result = self.run({"input": dummy})
            self.outputs = [TensorInfo(n, (None, *a.shape[1:]), str(a.dtype)) for n, a in result.items()]
        else:
            self.outputs = [TensorInfo(n, (None,) * _OUTPUT_RANKS.get(n, 1), "float32") for n in names]

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", half: bool = False,
                        channels_last: bool = False) -> "TorchEngine":
        """Rebuild the model and its spec from a poselive checkpoint file."""
        _import_torch()
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"checkpoint not found: {path}; check the path")
        try:
            from poselive.models import load_model
        except ImportError as exc:
            raise ModelError(f"cannot load {path}: poselive.models is not available ({exc})") from exc
        model, spec = load_model(path)
        engine = cls(model, spec, device=device, half=half, channels_last=channels_last)
        engine.path = path
        return engine

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; returns outputs by name as numpy arrays (float32 for floats)."""
        torch = self._torch
        if len(feeds) != 1:
            raise ModelError(f"TorchEngine takes one input, got {sorted(feeds)}")
        arr = next(iter(feeds.values()))
        x = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device, non_blocking=True)
        if x.is_floating_point():
            x = x.half() if self.half else x.float()
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self.model(x)
        if isinstance(out, dict):
            items = list(out.items())
        else:
            tensors = list(out) if isinstance(out, (list, tuple)) else [out]
            names = self._output_names or [f"output{i}" for i in range(len(tensors))]
            if len(names) != len(tensors):
                raise ModelError(f"the model returned {len(tensors)} outputs but its spec names "
                                 f"{len(names)} ({names}); fix the spec's 'outputs'")
            items = list(zip(names, tensors))
        result = {}
        for name, t in items:
            t = t.detach()
            if t.is_floating_point():
                t = t.float()
            result[name] = t.cpu().numpy()
        return result

    def close(self) -> None:
        """Drop the model (frees GPU memory once nothing else holds it)."""
        self.model = None
        if self.device.type == "cuda":
            self._torch.cuda.empty_cache()

    def __repr__(self) -> str:
        return f"TorchEngine({self.spec.get('name', type(self.model).__name__)!r}, device={self.device})"
