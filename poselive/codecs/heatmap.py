"""Gaussian heatmap codecs: MSRA (SimpleBaseline/HRNet) and UDP (unbiased data processing).

They differ only in how model-input pixels map to heatmap cells:
MSRA ``cell = px * heatmap / input`` (the input is divided into equal cells);
UDP ``cell = px * (heatmap - 1) / (input - 1)`` (first and last pixel centres coincide,
so flipping an image flips the heatmap exactly).
"""

from __future__ import annotations

import numpy as np

from poselive.codecs._refine import heatmap_argmax, refine_log_parabola, refine_quarter
from poselive.errors import ConfigError


class _GaussianHeatmapCodec:
    """Shared encode/decode; subclasses define the input <-> heatmap mapping."""

    type_name = ""

    def __init__(self, input_size=(192, 256), heatmap_size=(48, 64), sigma: float = 2.0,
                 refine: str = "dark", unbiased: bool = True) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        if refine not in ("dark", "quarter", "none"):
            raise ConfigError(f"heatmap refine must be 'dark', 'quarter' or 'none', not '{refine}'")
        self.refine = refine
        self.unbiased = bool(unbiased)

    # mapping between model-input pixels and heatmap cells (per axis, x then y)
    def _scale(self) -> np.ndarray:
        raise NotImplementedError

    def input_to_output(self, points: np.ndarray) -> np.ndarray:
        """Model-input px [...,2] -> heatmap cells."""
        return np.asarray(points, np.float32) * self._scale()

    def output_to_input(self, points: np.ndarray) -> np.ndarray:
        """Heatmap cells [...,2] -> model-input px."""
        return np.asarray(points, np.float32) / self._scale()

    def params(self) -> dict:
        """The dict spec that rebuilds this codec."""
        return {"type": self.type_name, "input_size": list(self.input_size),
                "heatmap_size": list(self.heatmap_size), "sigma": self.sigma,
                "refine": self.refine, "unbiased": self.unbiased}

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Keypoints [N,K,2] (input px) -> ``heatmaps`` [N,K,h,w] and ``weights`` [N,K].

        Points that are invisible or outside the input get an all-zero heatmap and weight 0.
        """
        kpts = np.asarray(keypoints, np.float32)
        n, k = kpts.shape[:2]
        vis = np.ones((n, k), np.float32) if visible is None else (np.asarray(visible) > 0).astype(np.float32)
        w, h = self.heatmap_size
        iw, ih = self.input_size
        # A point is usable anywhere on the input's pixels, [0, size).
        inside = (kpts[..., 0] >= 0) & (kpts[..., 0] < iw) & (kpts[..., 1] >= 0) & (kpts[..., 1] < ih)
        weights = (vis * inside).astype(np.float32)
        mu = self.input_to_output(kpts)
        if not self.unbiased:
            # Classic MSRA targets: the Gaussian sits on the nearest cell.
            mu = np.floor(mu + 0.5)
        # Separable Gaussian: exp(-dx^2/2s^2) * exp(-dy^2/2s^2).
        gx = np.exp(-((np.arange(w, dtype=np.float32) - mu[..., 0:1]) ** 2) / (2 * self.sigma ** 2))
        gy = np.exp(-((np.arange(h, dtype=np.float32) - mu[..., 1:2]) ** 2) / (2 * self.sigma ** 2))
        heatmaps = gy[..., :, None] * gx[..., None, :] * weights[..., None, None]
        return {"heatmaps": heatmaps.astype(np.float32), "weights": weights}

    def decode(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps [N,K,h,w] -> keypoints [N,K,2] in model-input px and scores [N,K] (peak values)."""
        hm = np.asarray(heatmaps, np.float32)
        if hm.ndim == 3:
            hm = hm[None]
        locs, vals = heatmap_argmax(hm)
        if self.refine == "dark":
            locs = refine_log_parabola(hm, locs)
        elif self.refine == "quarter":
            locs = refine_quarter(hm, locs)
        kpts = self.output_to_input(locs)
        kpts[vals <= 0] = -1.0
        return kpts.astype(np.float32), vals


class MSRAHeatmapCodec(_GaussianHeatmapCodec):
    """Gaussian heatmaps with MSRA's ``px * heatmap / input`` mapping (unbiased + DARK by default)."""

    type_name = "msra_heatmap"

    def _scale(self) -> np.ndarray:
        return np.array([self.heatmap_size[0] / self.input_size[0],
                         self.heatmap_size[1] / self.input_size[1]], np.float32)


class UDPHeatmapCodec(_GaussianHeatmapCodec):
    """Gaussian heatmaps with UDP's ``px * (heatmap - 1) / (input - 1)`` mapping."""

    type_name = "udp_heatmap"

    def _scale(self) -> np.ndarray:
        return np.array([(self.heatmap_size[0] - 1) / (self.input_size[0] - 1),
                         (self.heatmap_size[1] - 1) / (self.input_size[1] - 1)], np.float32)
