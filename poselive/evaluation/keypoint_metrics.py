"""Distance-based keypoint metrics for sets without a COCO protocol: PCK, AUC, EPE, NME.

All take predictions and ground truth as [N, K, 2] arrays in the same pixel space and a
visibility mask [N, K] (True where the ground truth is labelled).
"""

from __future__ import annotations

import numpy as np


def _distances(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Normalised distances [N, K]; -1 where the point is masked or the norm is zero."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    norm = np.asarray(norm, np.float64).reshape(pred.shape[0], -1)
    mask = np.asarray(mask, bool) & (norm > 0).all(1, keepdims=True)
    safe = np.where(norm > 0, norm, 1.0)
    # norm is [N, 1] (one length) or [N, 2] (per axis, like MMPose's bbox-size normalisation)
    d = np.linalg.norm((pred - gt) / safe[:, None, :], axis=-1)
    return np.where(mask, d, -1.0)


def pck_accuracy(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, threshold: float,
                 norm: np.ndarray) -> tuple[np.ndarray, float, int]:
    """PCK: fraction of keypoints within ``threshold`` x ``norm`` of the ground truth.

    ``norm`` is [N, 1] (e.g. head size, torso size) or [N, 2] (box width, height). Returns
    the per-keypoint accuracy [K] (-1 where no valid point), the mean over keypoints with
    valid points, and the number of such keypoints.
    """
    d = _distances(pred, gt, mask, norm)
    acc = np.full(d.shape[1], -1.0)
    for k in range(d.shape[1]):
        valid = d[:, k] != -1
        if valid.any():
            acc[k] = float((d[valid, k] < threshold).mean())
    good = acc >= 0
    return acc, float(acc[good].mean()) if good.any() else 0.0, int(good.sum())


def auc(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm_factor: float, num_thresholds: int = 20) -> float:
    """Area under the PCK curve for thresholds 0 .. 1 in ``num_thresholds`` steps (pixels / norm_factor)."""
    n = np.asarray(pred).shape[0]
    norm = np.full((n, 2), float(norm_factor))
    thresholds = np.arange(num_thresholds) / num_thresholds
    return float(np.mean([pck_accuracy(pred, gt, mask, t, norm)[1] for t in thresholds]))


def epe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """End-point error: mean Euclidean distance in pixels over labelled keypoints."""
    d = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)
    m = np.asarray(mask, bool)
    return float(d[m].mean()) if m.any() else 0.0


def nme(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm: np.ndarray) -> float:
    """Normalised mean error: per-sample mean distance / norm (e.g. inter-ocular), averaged."""
    norm = np.asarray(norm, np.float64).reshape(-1)
    d = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)
    m = np.asarray(mask, bool)
    per = [(d[i][m[i]] / norm[i]).mean() for i in range(d.shape[0]) if m[i].any() and norm[i] > 0]
    return float(np.mean(per)) if per else 0.0
