"""Constant-velocity Kalman filter on person boxes (centre x, centre y, aspect, height)."""

from __future__ import annotations

import numpy as np


def box_xyxy_to_xyah(box: np.ndarray) -> np.ndarray:
    """Box xyxy [4] -> (centre x, centre y, width / height, height)."""
    x1, y1, x2, y2 = np.asarray(box, np.float64).reshape(4)
    w, h = max(x2 - x1, 1e-3), max(y2 - y1, 1e-3)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, w / h, h])


def xyah_to_box_xyxy(xyah: np.ndarray) -> np.ndarray:
    """(centre x, centre y, aspect, height) -> box xyxy [4] float32."""
    cx, cy, a, h = np.asarray(xyah, np.float64)[:4]
    w = a * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


class BoxKalmanFilter:
    """Kalman filter with state (cx, cy, a, h) and their velocities per second.

    Noise scales with the box height, as in ByteTrack/DeepSORT, but time is in seconds:
    the per-frame noise of those trackers is defined at ``reference_fps`` and scaled by
    the actual time step, so a variable frame rate (live sources, dropped frames) stays
    consistent.
    """

    def __init__(self, position_weight: float = 1 / 20, velocity_weight: float = 1 / 160,
                 reference_fps: float = 30.0) -> None:
        self.wp = position_weight
        self.wv = velocity_weight * reference_fps  # per-frame velocity noise -> per second
        self.ref_dt = 1.0 / reference_fps
        self.H = np.eye(4, 8)

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean [8] and covariance [8, 8] of a new track from one (cx, cy, a, h)."""
        z = np.asarray(measurement, np.float64)
        mean = np.concatenate([z, np.zeros(4)])
        h = z[3]
        std = np.array([2 * self.wp * h, 2 * self.wp * h, 1e-2, 2 * self.wp * h,
                        10 * self.wv * h, 10 * self.wv * h, 1e-5 / self.ref_dt, 10 * self.wv * h])
        return mean, np.diag(std ** 2)

    def predict(self, mean: np.ndarray, cov: np.ndarray, dt: float,
                velocity_decay: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """State advanced by ``dt`` seconds; velocities are multiplied by ``velocity_decay``."""
        dt = max(float(dt), 0.0)
        F = np.eye(8)
        F[:4, 4:] = np.eye(4) * dt
        F[4:, 4:] *= velocity_decay
        h = mean[3]
        scale = dt / self.ref_dt  # noise variance grows linearly with elapsed time
        std = np.array([self.wp * h, self.wp * h, 1e-2, self.wp * h,
                        self.wv * h, self.wv * h, 1e-5 / self.ref_dt, self.wv * h])
        Q = np.diag(std ** 2) * scale
        mean = F @ mean
        cov = F @ cov @ F.T + Q
        return mean, cov

    def update(self, mean: np.ndarray, cov: np.ndarray,
               measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State corrected by one measurement (cx, cy, a, h)."""
        h = mean[3]
        R = np.diag(np.array([self.wp * h, self.wp * h, 1e-1, self.wp * h]) ** 2)
        S = self.H @ cov @ self.H.T + R
        K = np.linalg.solve(S, (cov @ self.H.T).T).T
        mean = mean + K @ (np.asarray(measurement, np.float64) - self.H @ mean)
        cov = cov - K @ S @ K.T
        return mean, cov
