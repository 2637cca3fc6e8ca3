"""MoveNet's single-person decoding on the raw head maps, and the matching training targets.

The four maps (output stride 4, cells of ``input / heatmap`` pixels):

- ``center_heatmap`` [N,1,h,w]: where the person's centre is (sigmoid).
- ``keypoint_heatmaps`` [N,K,h,w]: where each keypoint is (sigmoid).
- ``keypoint_regression`` [N,2K,h,w]: (dy, dx) from a centre cell to each keypoint, in cells.
- ``keypoint_offsets`` [N,2K,h,w]: (dy, dx) from a keypoint's cell to the exact point, in cells.

Decoding, as MoveNet's own graph does it: the centre map is weighted by a prior
``1 / (distance to the grid centre + bias)`` (so the person the crop is centred on wins);
the regression read at the chosen centre gives a rough position per keypoint; each
keypoint heatmap is divided by ``distance to that rough position + bias`` and its argmax
cell plus the offset read there is the keypoint; the score is the heatmap value there.
"""

from __future__ import annotations

import numpy as np

OUTPUTS = ("center_heatmap", "keypoint_heatmaps", "keypoint_regression", "keypoint_offsets")


class MoveNetCodec:
    """Keypoints in model-input px <-> MoveNet's centre / heatmap / regression / offset maps."""

    type_name = "movenet"

    def __init__(self, input_size=(192, 192), heatmap_size=(48, 48), center_bias: float = 1.8,
                 keypoint_bias: float = 1.8, sigma: float = 1.5, center_sigma: float = 2.0) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.center_bias = float(center_bias)
        self.keypoint_bias = float(keypoint_bias)
        self.sigma = float(sigma)
        self.center_sigma = float(center_sigma)
        w, h = self.heatmap_size
        self.stride = np.array([self.input_size[0] / w, self.input_size[1] / h], np.float32)  # (x, y)
        self.grid_y, self.grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
        # MoveNet stores this prior as a float16 constant; round it the same way so both
        # pick the same cell on near ties.
        dist = np.sqrt((self.grid_y - h // 2) ** 2 + (self.grid_x - w // 2) ** 2)
        self.center_prior = (1.0 / (dist + self.center_bias)).astype(np.float16).astype(np.float32)

    def params(self) -> dict:
        """The dict spec that rebuilds this codec."""
        return {"type": self.type_name, "input_size": list(self.input_size),
                "heatmap_size": list(self.heatmap_size), "center_bias": self.center_bias,
                "keypoint_bias": self.keypoint_bias, "sigma": self.sigma, "center_sigma": self.center_sigma}

    # ------------------------------------------------------------------ decode
    def decode(self, center: np.ndarray, heatmaps: np.ndarray, regression: np.ndarray,
               offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The four maps (batch first) -> keypoints [N,K,2] in model-input px and scores [N,K]."""
        center = np.asarray(center, np.float32)
        heat = np.asarray(heatmaps, np.float32)
        reg = np.asarray(regression, np.float32)
        off = np.asarray(offsets, np.float32)
        n, k, h, w = heat.shape
        rows = np.arange(n)
        weighted = center[:, 0] * self.center_prior
        ci = weighted.reshape(n, -1).argmax(1)
        cy, cx = ci // w, ci % w
        r = reg[rows, :, cy, cx].reshape(n, k, 2)  # (dy, dx) per keypoint
        ry = cy[:, None] + r[..., 0]
        rx = cx[:, None] + r[..., 1]
        dist = np.sqrt((self.grid_y[None, None] - ry[..., None, None]) ** 2
                       + (self.grid_x[None, None] - rx[..., None, None]) ** 2)
        ki = (heat / (dist + self.keypoint_bias)).reshape(n, k, -1).argmax(-1)
        ky, kx = ki // w, ki % w
        kk = np.arange(k)[None]
        scores = heat[rows[:, None], kk, ky, kx]
        oy = off[rows[:, None], 2 * kk, ky, kx]
        ox = off[rows[:, None], 2 * kk + 1, ky, kx]
        kpts = np.stack([(kx + ox) * self.stride[0], (ky + oy) * self.stride[1]], axis=-1)
        return kpts.astype(np.float32), scores.astype(np.float32)

    # ------------------------------------------------------------------ encode
    def _gaussian(self, cy: float, cx: float, sigma: float) -> np.ndarray:
        return np.exp(-((self.grid_y - cy) ** 2 + (self.grid_x - cx) ** 2) / (2 * sigma ** 2)).astype(np.float32)

    def encode(self, keypoints: np.ndarray, visible: np.ndarray | None = None,
               centers: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Keypoints [N,K,2] (input px) -> the four target maps and ``weights`` [N,K].

        Peaks sit on whole cells with value 1 (CenterNet style), so the regression target
        lives on the centre's peak cell and each offset on its keypoint's peak cell; the
        sub-cell remainder goes into the offsets. The centre is ``centers`` [N,2] (input
        px) when given, else the middle of the usable keypoints' bounding box. Invisible
        points and points outside the input get weight 0 and no peak.
        """
        kpts = np.asarray(keypoints, np.float32)
        n, k = kpts.shape[:2]
        vis = np.ones((n, k), bool) if visible is None else np.asarray(visible) > 0
        w, h = self.heatmap_size
        cells = kpts / self.stride  # (x, y) in cells
        inside = np.all((kpts >= 0) & (kpts < np.array(self.input_size, np.float32)), -1)
        use = vis & inside
        out = {"center_heatmap": np.zeros((n, 1, h, w), np.float32),
               "keypoint_heatmaps": np.zeros((n, k, h, w), np.float32),
               "keypoint_regression": np.zeros((n, 2 * k, h, w), np.float32),
               "keypoint_offsets": np.zeros((n, 2 * k, h, w), np.float32),
               "weights": use.astype(np.float32)}
        for i in range(n):
            if centers is not None:
                c = np.asarray(centers, np.float32)[i] / self.stride
            elif use[i].any():
                pts = cells[i][use[i]]
                c = (pts.min(0) + pts.max(0)) / 2
            else:
                c = np.array([w / 2, h / 2], np.float32)
            ccx = int(np.clip(np.floor(c[0]), 0, w - 1))
            ccy = int(np.clip(np.floor(c[1]), 0, h - 1))
            out["center_heatmap"][i, 0] = self._gaussian(ccy, ccx, self.center_sigma)
            for j in np.flatnonzero(use[i]):
                px, py = cells[i, j]
                ix, iy = int(np.floor(px)), int(np.floor(py))
                out["keypoint_heatmaps"][i, j] = self._gaussian(iy, ix, self.sigma)
                out["keypoint_regression"][i, 2 * j, ccy, ccx] = py - ccy
                out["keypoint_regression"][i, 2 * j + 1, ccy, ccx] = px - ccx
                out["keypoint_offsets"][i, 2 * j, iy, ix] = py - iy
                out["keypoint_offsets"][i, 2 * j + 1, iy, ix] = px - ix
        return out
