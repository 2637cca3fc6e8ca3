"""PyTorch backend: runs an nn.Module eagerly or, on CUDA, as captured CUDA graphs.

numpy in, numpy out. torch is imported lazily so that ``import engines`` works without it.
Options: ``half`` (fp16 weights and inputs, float32 outputs), ``channels_last`` (NHWC
memory format for convolutions) and ``cuda_graphs`` (CUDA only: one graph per input
shape, replayed instead of launching every kernel from Python).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engines.base import TensorInfo
from poselive.errors import ConfigError, MissingExtraError, ModelError
from poselive.interrupts import reraise_interrupt

# Rank of each known output name of the spec contract (batch dimension included).
_OUTPUT_RANKS = {"simcc_x": 3, "simcc_y": 3, "heatmaps": 4, "boxes": 3, "scores": 2,
                 "dets": 3, "labels": 2}
# Eager runs on a side stream before capture: cuDNN autotuning, lazy initialisation and
# allocator growth must happen outside the graph (torch's documented warm-up pattern).
GRAPH_WARMUP_RUNS = 3

log = logging.getLogger("poselive.engines")


@dataclass
class _CapturedGraph:
    """One captured forward: replay after copying the batch into ``static_in``."""

    graph: Any
    static_in: Any
    static_out: Any


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
                 channels_last: bool = False, cuda_graphs: bool = False) -> None:
        torch = _import_torch()
        self._torch = torch
        self.spec = dict(spec or {})
        dev = torch.device(device or "cpu")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device '{device}' asked for, but this torch has no CUDA; "
                              "use device='cpu' or install a CUDA build of torch")
        if cuda_graphs and dev.type != "cuda":
            raise ConfigError(f"CUDA graphs need a CUDA device, but the device is '{dev}'; "
                              "use device='cuda' or leave cuda_graphs off")
        self.device = dev
        self.half = bool(half)
        self.channels_last = bool(channels_last)
        self.cuda_graphs = bool(cuda_graphs)
        # (shape, dtype) -> captured graph; shapes whose capture failed run eagerly.
        self._graphs: dict[tuple, _CapturedGraph] = {}
        self._graph_failed: set[tuple] = set()
        self._graph_pool: Any = None
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
                        channels_last: bool = False, cuda_graphs: bool = False) -> "TorchEngine":
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
        engine = cls(model, spec, device=device, half=half, channels_last=channels_last,
                     cuda_graphs=cuda_graphs)
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
            out = self._forward(x)
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
            # A copy to the host in every case: with CUDA graphs ``t`` is a static buffer
            # that the next replay overwrites.
            t = t.detach()
            if t.is_floating_point():
                t = t.float()
            result[name] = t.cpu().numpy()
        return result

    def _forward(self, x: Any) -> Any:
        """The model on one batch: a replayed CUDA graph when one is (or can be) captured."""
        if not self.cuda_graphs:
            return self._eager(x)
        key = (tuple(x.shape), x.dtype, x.is_contiguous(memory_format=self._torch.channels_last))
        captured = self._graphs.get(key)
        if captured is None and key not in self._graph_failed:
            captured = self._capture(x, key)
        if captured is None:
            return self._eager(x)
        captured.static_in.copy_(x)
        captured.graph.replay()
        return captured.static_out

    def _eager(self, x: Any) -> Any:
        try:
            return self.model(x)
        except (RuntimeError, NotImplementedError) as exc:
            if self.half and self.device.type == "cpu" and "Half" in str(exc):
                raise ModelError(f"fp16 (half=True) is not supported on the CPU for an operation in "
                                 f"this model ({str(exc).splitlines()[0]}); use half=False on the CPU, "
                                 "or run fp16 on a CUDA device") from exc
            raise

    def _capture(self, x: Any, key: tuple) -> _CapturedGraph | None:
        """Capture the forward for this input shape; None (and eager from now on) on failure."""
        torch = self._torch
        try:
            static_in = x.clone()  # keeps x's memory format (channels-last stays channels-last)
            main = torch.cuda.current_stream(self.device)
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(main)
            with torch.cuda.stream(side):
                for _ in range(GRAPH_WARMUP_RUNS):
                    self.model(static_in)
            main.wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            # One memory pool for all batch sizes: replays never overlap (one run at a time)
            # and run() copies the outputs to the host before the next replay, so graphs
            # may reuse each other's scratch memory instead of each holding its own.
            with torch.cuda.graph(graph, pool=self._graph_pool):
                static_out = self.model(static_in)
            if self._graph_pool is None:
                self._graph_pool = graph.pool()
        except Exception as exc:  # noqa: BLE001 - capture rejects many ops (syncs, CPU tensors)
            reraise_interrupt(exc)
            self._graph_failed.add(key)
            log.warning("CUDA graph capture failed for input %s (%s); this shape runs eagerly",
                        tuple(x.shape), str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return None
        captured = _CapturedGraph(graph, static_in, static_out)
        self._graphs[key] = captured
        log.info("captured a CUDA graph for input %s", tuple(x.shape))
        return captured

    @property
    def captured_shapes(self) -> list[tuple[int, ...]]:
        """Input shapes that run as CUDA graphs (empty without ``cuda_graphs``)."""
        return [k[0] for k in self._graphs]

    def close(self) -> None:
        """Drop the model (frees GPU memory once nothing else holds it)."""
        self.model = None
        self._graphs.clear()
        self._graph_pool = None
        if self.device.type == "cuda":
            self._torch.cuda.empty_cache()

    def __repr__(self) -> str:
        return f"TorchEngine({self.spec.get('name', type(self.model).__name__)!r}, device={self.device})"
