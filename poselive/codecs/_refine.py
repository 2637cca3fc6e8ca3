"""Heatmap peak finding and sub-pixel refinement shared by the heatmap codecs."""

from __future__ import annotations

import numpy as np


def heatmap_argmax(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps [N,K,h,w] -> integer peak locations [N,K,2] (x, y) as float32 and peak values [N,K]."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    idx = flat.argmax(-1)
    vals = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    locs = np.stack([idx % w, idx // w], -1).astype(np.float32)
    return locs, vals.astype(np.float32)


def _vertex(l0: np.ndarray, l1: np.ndarray, l2: np.ndarray) -> np.ndarray:
    """Vertex of the parabola through (0,l0), (1,l1), (2,l2), as an offset from 1."""
    curv = l0 - 2.0 * l1 + l2
    safe = np.where(curv < -1e-12, curv, -1.0)
    off = 0.5 * (l0 - l2) / safe
    return np.where(curv < -1e-12, off, 0.0)


def refine_log_parabola(heatmaps: np.ndarray, locs: np.ndarray, max_offset: float = 1.0) -> np.ndarray:
    """Sub-pixel peaks by fitting a parabola to the log heatmap along x and y (DARK-style).

    The log of a Gaussian is exactly a parabola, so Gaussian targets decode without bias.
    At a border the three samples are taken inward and the vertex extrapolated, which keeps
    points on the image edge accurate; offsets are clipped to ``max_offset`` cells.
    """
    n, k, h, w = heatmaps.shape
    logs = np.log(np.maximum(heatmaps.astype(np.float64), 1e-10))
    out = locs.astype(np.float64).copy()
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    x = locs[..., 0].astype(np.int64)
    y = locs[..., 1].astype(np.int64)
    for axis, (pos, size) in enumerate(((x, w), (y, h))):
        if size < 3:
            continue
        centre = np.clip(pos, 1, size - 2)  # middle sample of the three used
        samples = []
        for d in (-1, 0, 1):
            if axis == 0:
                samples.append(logs[ni, ki, y, centre + d])
            else:
                samples.append(logs[ni, ki, centre + d, x])
        vertex = centre + _vertex(*samples)
        off = np.clip(vertex - pos, -max_offset, max_offset)
        out[..., axis] = pos + off
    return out.astype(np.float32)


def refine_quarter(heatmaps: np.ndarray, locs: np.ndarray) -> np.ndarray:
    """Classic MSRA refinement: move a quarter cell towards the higher neighbour."""
    n, k, h, w = heatmaps.shape
    out = locs.copy()
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    x = locs[..., 0].astype(np.int64)
    y = locs[..., 1].astype(np.int64)
    xl, xr = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
    yu, yd = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
    dx = heatmaps[ni, ki, y, xr] - heatmaps[ni, ki, y, xl]
    dy = heatmaps[ni, ki, yd, x] - heatmaps[ni, ki, yu, x]
    out[..., 0] += 0.25 * np.sign(dx)
    out[..., 1] += 0.25 * np.sign(dy)
    return out
