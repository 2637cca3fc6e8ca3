"""Object keypoint similarity (OKS) between two sets of skeletons, for matching."""

from __future__ import annotations

import numpy as np


def oks_matrix(kpts_a: np.ndarray, scores_a: np.ndarray, kpts_b: np.ndarray, scores_b: np.ndarray,
               areas: np.ndarray, sigmas: np.ndarray, score_threshold: float = 0.3,
               min_keypoints: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise OKS [N, M] of skeletons a [N,K,2] and b [M,K,2], and where it is defined.

    ``areas`` [N] is the object area (s^2 in the COCO formula) of each skeleton in a.
    A keypoint counts when its score exceeds ``score_threshold`` in both skeletons; a pair
    with fewer than ``min_keypoints`` such keypoints gets OKS 0 and ``valid`` False, so the
    caller can fall back to another similarity (e.g. box IoU).
    """
    a = np.asarray(kpts_a, np.float32).reshape(len(kpts_a), -1, 2)
    b = np.asarray(kpts_b, np.float32).reshape(len(kpts_b), -1, 2)
    if len(a) == 0 or len(b) == 0:
        shape = (len(a), len(b))
        return np.zeros(shape, np.float32), np.zeros(shape, bool)
    va = np.asarray(scores_a).reshape(len(a), -1) > score_threshold
    vb = np.asarray(scores_b).reshape(len(b), -1) > score_threshold
    both = va[:, None, :] & vb[None, :, :]  # [N, M, K]
    d2 = ((a[:, None] - b[None]) ** 2).sum(-1)  # [N, M, K]
    k2 = (2.0 * np.asarray(sigmas, np.float32)) ** 2  # COCO: kappa = 2 sigma
    s2 = np.maximum(np.asarray(areas, np.float32).reshape(-1), 1.0)[:, None, None]
    e = np.exp(-d2 / (2.0 * s2 * k2[None, None, :]))
    count = both.sum(-1)
    oks = (e * both).sum(-1) / np.maximum(count, 1)
    valid = count >= min_keypoints
    return np.where(valid, oks, 0.0).astype(np.float32), valid
