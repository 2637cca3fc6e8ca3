"""Top-down prediction for evaluation: ``estimate(image, boxes) -> (keypoints, scores)``.

Evaluation runs every model through one signature, the one the pipeline's pose adapters
(``poselive.stages.adapters``) have: keypoints [N,K,2] in original-image px and scores
[N,K] for person boxes [N,4]. ONNX files (poselive's own and external teachers) go
through those adapters; a torch module in memory (validation during training) goes
through ``TorchPosePredictor``, which uses the same geometry and codec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from poselive import geometry
from poselive.codecs import build_codec
from poselive.errors import ConfigError, ModelError
from poselive.keypoints import KeypointSet
from trainer.data.transforms import uses_udp

EstimateFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def model_outputs(raw: Any, names: list[str]) -> dict:
    """A model's forward result (dict, tuple or single tensor) as a dict by output name."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, (tuple, list)):
        if len(raw) != len(names):
            raise ModelError(f"the model returned {len(raw)} outputs but its spec names {names}")
        return dict(zip(names, raw))
    return {names[0]: raw}


class TorchPosePredictor:
    """A torch pose model + its spec as an ``estimate(image, boxes)`` callable (batched crops)."""

    def __init__(self, model: Any, spec: dict, device: Any = "cpu", batch_size: int = 64) -> None:
        import torch

        self.torch = torch
        self.model, self.spec = model, spec
        self.device = torch.device(device)
        self.input_size = tuple(int(v) for v in spec["input_size"])
        self.codec = build_codec(spec["codec"])
        self.names = list(spec.get("outputs") or ["simcc_x", "simcc_y"])
        self.padding = float(spec.get("box_padding", 1.25))
        self.udp = uses_udp(spec)
        self.mean = np.asarray(spec.get("mean", (123.675, 116.28, 103.53)), np.float32)
        self.std = np.asarray(spec.get("std", (58.395, 57.12, 57.375)), np.float32)
        self.rgb = spec.get("channel_order", "rgb") == "rgb"
        self.batch_size = batch_size

    def __call__(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints [N,K,2] (original px) and scores [N,K] for boxes [N,4]."""
        torch = self.torch
        w, h = self.input_size
        centers, scales = geometry.box_xyxy_to_center_scale(boxes, self.padding)
        scales = geometry.fix_aspect_ratio(scales, w / h)
        crops = geometry.crop_batch(image, centers, scales, self.input_size, udp=self.udp)
        if self.rgb:
            crops = crops[..., ::-1]
        x = ((crops.astype(np.float32) - self.mean) / self.std).transpose(0, 3, 1, 2)
        kpts, scores = [], []
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(x), self.batch_size):
                out = model_outputs(self.model(torch.from_numpy(np.ascontiguousarray(x[i:i + self.batch_size])).to(self.device)),
                                    self.names)
                arrays = [out[n].float().cpu().numpy() for n in self.names]
                k, s = self.codec.decode(*arrays)
                kpts.append(k)
                scores.append(s)
        self.model.train(was_training)
        k = np.concatenate(kpts) if kpts else np.zeros((0, 0, 2), np.float32)
        s = np.concatenate(scores) if scores else np.zeros((0, 0), np.float32)
        return geometry.input_to_image_points_batch(k, centers, scales, self.input_size, udp=self.udp), s


def with_flip_test(estimate: EstimateFn, kset: KeypointSet) -> EstimateFn:
    """Average the estimate on the image and on its mirror image (keypoints mapped back).

    Works for any model behind ``estimate``: the mirror is taken at the image level, where
    pixel x becomes ``W - 1 - x`` for image and boxes alike, and the left/right keypoints
    of the mirrored result are swapped back with the keypoint set's flip pairs.
    """
    perm = kset.flip_index()

    def flipped(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k1, s1 = estimate(image, boxes)
        w = image.shape[1]
        fb = np.asarray(boxes, np.float32).copy()
        fb[:, [0, 2]] = (w - 1) - fb[:, [2, 0]]
        k2, s2 = estimate(np.ascontiguousarray(image[:, ::-1]), fb)
        k2 = k2[:, perm].copy()
        s2 = s2[:, perm]
        k2[..., 0] = (w - 1) - k2[..., 0]
        return (k1 + k2) / 2, (s1 + s2) / 2

    return flipped


def open_pose_predictor(model_path: str | Path, device: str = "cpu") -> tuple[EstimateFn, dict]:
    """An ``estimate`` function and the spec ({} for external models) for a model file.

    Checkpoints (.pth/.pt) are rebuilt with ``poselive.models.load_model``; ONNX files are
    opened with ``engines.open_engine`` and run through the pipeline's pose adapter.
    """
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if path.suffix.lower() in (".pth", ".pt", ".ckpt"):
        try:
            from poselive.models import load_model
        except ImportError as exc:
            raise ModelError("evaluating a checkpoint needs poselive.models (torch); "
                             "install with: pip install 'poselive[torch]'") from exc
        model, spec = load_model(path)
        return TorchPosePredictor(model.to(device), spec, device), spec
    if path.suffix.lower() == ".onnx":
        from engines import open_engine
        from poselive.stages.adapters import build_pose_adapter, engine_spec

        engine = open_engine(path)
        adapter = build_pose_adapter(engine)
        return adapter.estimate, dict(engine_spec(engine))
    raise ConfigError(f"don't know how to evaluate '{path.name}': give a .pth checkpoint or an .onnx file")


def instance_score(box_score: float, kpt_scores: np.ndarray, threshold: float | None = None) -> float:
    """Person score for COCO ranking: box score x mean keypoint score.

    With ``threshold`` only keypoints scoring above it are averaged (MMPose's rescoring
    for heatmap maxima); by default all are, which reproduces the published teacher APs
    (MoveNet's scores are probabilities, and low ones carry information too).
    """
    s = np.asarray(kpt_scores, np.float64)
    if threshold is not None:
        s = s[s > threshold]
    return float(box_score * s.mean()) if s.size else 0.0
