"""SimCC: keypoint coordinates as 1-D classification over sub-pixel bins (RTMPose)."""

from __future__ import annotations

import numpy as np


class SimCCCodec:
    """x and y each become a distribution over ``size * split_ratio`` bins."""

    def __init__(self, input_size=(192, 256), split_ratio: float = 2.0,
                 sigma=(4.9, 5.66), label_smooth_weight: float = 0.0,
                 normalize: bool = False, use_dark: bool = False) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.split_ratio = float(split_ratio)
        sig = np.broadcast_to(np.asarray(sigma, np.float32), (2,))
        self.sigma = (float(sig[0]), float(sig[1]))
        self.label_smooth_weight = float(label_smooth_weight)
        self.normalize = bool(normalize)
        # Sub-bin refinement (parabola through the log of the peak and its neighbours); exact
        # for Gaussian-shaped outputs, off by default to decode raw logits as RTMPose does.
        self.use_dark = bool(use_dark)

    @property
    def num_bins(self) -> tuple[int, int]:
        """(bins along x, bins along y)."""
        return (int(round(self.input_size[0] * self.split_ratio)),
                int(round(self.input_size[1] * self.split_ratio)))

    def params(self) -> dict:
        """The dict spec that rebuilds this codec."""
        return {"type": "simcc", "input_size": list(self.input_size),
                "split_ratio": self.split_ratio, "sigma": list(self.sigma),
                "label_smooth_weight": self.label_smooth_weight, "normalize": self.normalize,
                "use_dark": self.use_dark}

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Keypoints [N,K,2] (input px) -> Gaussian targets ``simcc_x`` [N,K,Wb], ``simcc_y``
        [N,K,Hb] and ``weights`` [N,K] (0 for invisible or out-of-input points)."""
        kpts = np.asarray(keypoints, np.float32)
        n, k = kpts.shape[:2]
        vis = np.ones((n, k), np.float32) if visible is None else (np.asarray(visible) > 0).astype(np.float32)
        wb, hb = self.num_bins
        mu = kpts * self.split_ratio
        # Usable anywhere on the input's pixels, [0, size): the last half pixel still has a bin.
        inside = (mu[..., 0] >= 0) & (mu[..., 0] < wb) & (mu[..., 1] >= 0) & (mu[..., 1] < hb)
        weights = vis * inside
        tx = self._gauss(np.arange(wb, dtype=np.float32), mu[..., 0], self.sigma[0])
        ty = self._gauss(np.arange(hb, dtype=np.float32), mu[..., 1], self.sigma[1])
        if self.label_smooth_weight > 0:
            # Label smoothing mixes in a uniform distribution, as RTMPose's option does.
            lsw = self.label_smooth_weight
            tx = tx * (1 - lsw) + lsw / wb
            ty = ty * (1 - lsw) + lsw / hb
        tx *= weights[..., None]
        ty *= weights[..., None]
        return {"simcc_x": tx, "simcc_y": ty, "weights": weights.astype(np.float32)}

    def _gauss(self, bins: np.ndarray, mu: np.ndarray, sigma: float) -> np.ndarray:
        t = np.exp(-((bins - mu[..., None]) ** 2) / (2.0 * sigma ** 2))
        if self.normalize:
            t /= sigma * np.sqrt(2.0 * np.pi)
        return t.astype(np.float32)

    def decode(self, simcc_x: np.ndarray, simcc_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs [N,K,Wb] and [N,K,Hb] -> keypoints [N,K,2] in input px, scores [N,K].

        The score is the smaller of the two peak values, as RTMPose does.
        """
        sx = np.asarray(simcc_x, np.float32)
        sy = np.asarray(simcc_y, np.float32)
        ix = sx.argmax(-1)
        iy = sy.argmax(-1)
        vx = np.take_along_axis(sx, ix[..., None], -1)[..., 0]
        vy = np.take_along_axis(sy, iy[..., None], -1)[..., 0]
        locs = np.stack([ix, iy], -1).astype(np.float32)
        if self.use_dark:
            locs = np.stack([_refine_1d(sx, ix), _refine_1d(sy, iy)], -1)
        kpts = locs / self.split_ratio
        scores = np.minimum(vx, vy)
        kpts[scores <= 0] = -1.0
        return kpts, scores.astype(np.float32)


def _refine_1d(vectors: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Sub-bin peaks of [N,K,B] vectors: vertex of a parabola through the log of three bins."""
    from poselive.codecs._refine import refine_log_parabola

    locs = np.stack([peak, np.zeros_like(peak)], -1).astype(np.float32)
    return refine_log_parabola(vectors[:, :, None, :], locs)[..., 0]
