"""What every adapter shares: reading the engine's inputs and spec, normalising, batching.

Adapters talk to engines only through the Engine protocol (``inputs``, ``outputs``,
``spec``, ``run``), by duck typing: stages sit above the engines layer and never import it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from poselive.errors import ConfigError, ModelError
from poselive.geometry import input_to_image_boxes, letterbox

log = logging.getLogger("poselive.stages")

# MMPose/MMDet's ImageNet statistics in RGB order: RTMPose's and RTMDet's defaults.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def engine_spec(engine: Any) -> dict[str, Any]:
    """The engine's spec dict ({} when it has none)."""
    return dict(getattr(engine, "spec", None) or {})


def output_names(engine: Any) -> list[str]:
    """Names of the engine's outputs."""
    return [o.name for o in engine.outputs]


def fixed_dim(value: Any) -> int | None:
    """A static dimension as int, or None when dynamic."""
    return int(value) if isinstance(value, (int, np.integer)) and value > 0 else None


@dataclass
class Preprocess:
    """How images become the model's input tensor: size, colour order, normalisation."""

    input_size: tuple[int, int]  # (w, h)
    mean: np.ndarray
    std: np.ndarray
    channel_order: str = "rgb"
    input_format: str = "float_nchw"  # or "uint8_nhwc": normalisation folded into the graph
    dtype: str = "float32"

    @classmethod
    def from_engine(cls, engine: Any, default_size: tuple[int, int]) -> "Preprocess":
        """Settings from the spec, else the input's static shape, else family defaults."""
        spec = engine_spec(engine)
        inp = engine.inputs[0]
        fmt = spec.get("input_format")
        if fmt is None:
            fmt = "uint8_nhwc" if (len(inp.shape) == 4 and fixed_dim(inp.shape[-1]) == 3
                                   and fixed_dim(inp.shape[1]) != 3) else "float_nchw"
        if fmt not in ("float_nchw", "uint8_nhwc"):
            raise ConfigError(f"unknown input_format '{fmt}' in the model spec; "
                              "expected 'float_nchw' or 'uint8_nhwc'")
        if spec.get("input_size"):
            w, h = (int(v) for v in spec["input_size"])
        else:
            dims = inp.shape[2:4] if fmt == "float_nchw" else inp.shape[1:3]
            h_, w_ = (fixed_dim(d) for d in dims) if len(dims) == 2 else (None, None)
            w, h = (w_, h_) if w_ and h_ else default_size
        order = str(spec.get("channel_order", "rgb")).lower()
        if order not in ("rgb", "bgr"):
            raise ConfigError(f"unknown channel_order '{order}' in the model spec; expected rgb or bgr")
        mean = np.asarray(spec.get("mean", IMAGENET_MEAN), np.float32)
        std = np.asarray(spec.get("std", IMAGENET_STD), np.float32)
        if fmt == "float_nchw":
            dtype = inp.dtype if inp.dtype in ("float32", "float16") else "float32"
        else:  # integer pixels: uint8 usually, int32 for MoveNet
            dtype = inp.dtype if inp.dtype in ("uint8", "int32", "int64") else "uint8"
        return cls((int(w), int(h)), mean, std, order, fmt, dtype)

    def to_tensor(self, batch_bgr: np.ndarray) -> np.ndarray:
        """BGR uint8 images [N,H,W,3] -> the model's input tensor."""
        if self.input_format == "uint8_nhwc":
            x = batch_bgr[..., ::-1] if self.channel_order == "rgb" else batch_bgr
            return np.ascontiguousarray(x, dtype=self.dtype)
        # Reorder while still uint8 (4x fewer bytes to move), then normalise in place per
        # channel plane: several times faster than broadcasting over the last axis.
        x = batch_bgr.transpose(0, 3, 1, 2)
        if self.channel_order == "rgb":
            x = x[:, ::-1]
        x = np.ascontiguousarray(x).astype(np.float32)
        x -= self.mean[:, None, None]
        x *= (1.0 / self.std)[:, None, None]
        return x if self.dtype == "float32" else x.astype(self.dtype)


def uses_udp(spec: dict[str, Any]) -> bool:
    """Whether crops use unbiased data processing (pixel centres map to pixel centres).

    Must match training (trainer.data.transforms): the UDP heatmap codec, or a codec
    or spec flag, turns it on.
    """
    codec = spec.get("codec") or {}
    return bool(spec.get("udp") or codec.get("use_udp") or codec.get("type") in ("udp", "udp_heatmap"))


def fixed_batch(engine: Any) -> int | None:
    """The engine's static batch size, or None when the batch dimension is dynamic."""
    shape = engine.inputs[0].shape
    return fixed_dim(shape[0]) if shape else None


class BatchRunner:
    """Runs a batch through an engine, splitting it when the engine's batch is fixed.

    A fixed batch of 1 (MoveNet, some TensorRT engines) means one call per person; that is
    logged once per runner so a slow pipeline can be explained.
    """

    def __init__(self, engine: Any, what: str) -> None:
        self.engine = engine
        self.input_name = engine.inputs[0].name
        self.batch = fixed_batch(engine)
        self.what = what
        self._warned = False

    def __call__(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs for all N items of ``tensor`` (concatenated along the batch axis)."""
        n = tensor.shape[0]
        b = self.batch
        if b is None or b == n:
            return self.engine.run({self.input_name: tensor})
        if not self._warned:
            log.info("%s: the engine's batch size is fixed at %d, so %d crops take %d engine "
                     "calls; export with a dynamic batch to use one call per frame",
                     self.what, b, n, -(-n // b))
            self._warned = True
        parts: list[dict[str, np.ndarray]] = []
        for start in range(0, n, b):
            chunk = tensor[start:start + b]
            m = chunk.shape[0]
            if m < b:  # pad the last chunk to the fixed size, then drop the padding
                pad = np.zeros((b - m, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            out = self.engine.run({self.input_name: chunk})
            parts.append({k: v[:m] for k, v in out.items()})
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def pick_outputs(result: dict[str, np.ndarray], names: Sequence[str], engine: Any) -> list[np.ndarray]:
    """Outputs by name, falling back to output order for models with other names."""
    if all(n in result for n in names):
        return [result[n] for n in names]
    order = output_names(engine)
    if len(order) < len(names):
        raise ModelError(f"the model has outputs {order}, expected {list(names)}; "
                         "choose another adapter or re-export the model")
    return [result[order[i]] for i in range(len(names))]



class LetterboxDetector:
    """What the detector adapters share: letterbox pre-processing from the spec, one engine
    call, and boxes mapped back to original-image pixels."""

    default_input_size = (320, 320)

    def __init__(self, engine: Any, score_threshold: float) -> None:
        self.spec = engine_spec(engine)
        self.engine = engine
        self.pre = Preprocess.from_engine(engine, self.default_input_size)
        self.pad_value = int(self.spec.get("pad_value", 114))
        self.centered = self.spec.get("letterbox", "topleft") == "center"
        self.score_threshold = float(score_threshold)
        self.run = BatchRunner(engine, "detector")

    def _infer(self, image: np.ndarray, names: Sequence[str]):
        """Letterbox ``image``, run the engine; (outputs by ``names``, ratio, offset)."""
        padded, ratio, offset = letterbox(image, self.pre.input_size, self.pad_value, self.centered)
        return pick_outputs(self.run(self.pre.to_tensor(padded[None])), names, self.engine), ratio, offset

    @staticmethod
    def _to_image(boxes: np.ndarray, ratio: float, offset, image: np.ndarray):
        """Boxes in original-image pixels (clipped) and the mask of those with an area.

        Boxes wholly in the padding collapse to zero area after clipping: not persons.
        """
        boxes = input_to_image_boxes(boxes, ratio, offset, (image.shape[1], image.shape[0]))
        return boxes, (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
