"""Regression labels: keypoints as coordinates normalised to the model input (DeepPose/RLE)."""

from __future__ import annotations

import numpy as np


class RegressionLabelCodec:
    """Keypoints <-> coordinates in [0, 1] relative to the model input size."""

    def __init__(self, input_size=(192, 256)) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))

    def params(self) -> dict:
        """The dict spec that rebuilds this codec."""
        return {"type": "regression", "input_size": list(self.input_size)}

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Keypoints [N,K,2] (input px) -> ``keypoint_labels`` [N,K,2] in [0,1] and ``weights`` [N,K]."""
        kpts = np.asarray(keypoints, np.float32)
        n, k = kpts.shape[:2]
        vis = np.ones((n, k), np.float32) if visible is None else (np.asarray(visible) > 0).astype(np.float32)
        size = np.array(self.input_size, np.float32)
        labels = kpts / size
        inside = np.all((labels >= 0) & (labels < 1), -1)  # same [0, size) rule as the other codecs
        return {"keypoint_labels": labels.astype(np.float32), "weights": (vis * inside).astype(np.float32)}

    def decode(self, coords: np.ndarray, scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Normalised coords [N,K,2] (or [N,K,4] = x, y, sigma_x, sigma_y as RLE predicts)
        -> keypoints [N,K,2] in input px and scores [N,K].

        Scores are taken from ``scores`` if given, else ``1 - mean(sigma)`` for RLE outputs,
        else 1.
        """
        c = np.asarray(coords, np.float32)
        if c.ndim == 2:
            c = c[None]
        kpts = c[..., :2] * np.array(self.input_size, np.float32)
        if scores is not None:
            sc = np.asarray(scores, np.float32).reshape(kpts.shape[:2])
        elif c.shape[-1] == 4:
            sc = np.clip(1.0 - c[..., 2:4].mean(-1), 0.0, 1.0)
        else:
            sc = np.ones(kpts.shape[:2], np.float32)
        return kpts.astype(np.float32), sc.astype(np.float32)
