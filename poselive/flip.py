"""Flip test helpers for any keypoint set with flip pairs.

Run the model on an image batch and on its mirror image, map the mirrored output back
(mirror the x axis and swap left/right channels) and average. Works on numpy arrays and,
by duck typing, on torch tensors (no torch import here).

Coordinate convention: pixel ``i`` has its centre at ``x = i``, so mirroring an image of
width ``W`` maps ``x -> W - 1 - x``. Model outputs whose cells do not share that
convention (MSRA heatmaps, SimCC bins) are off by a fraction of a cell after mirroring;
``output_flip_shift`` gives that shift and the ``flip_back_*`` functions apply it. A
fractional shift (MSRA heatmaps) is interpolated and repeats the edge cell, so points within
a few cells of the border are slightly bent; UDP heatmaps need no shift and SimCC a whole bin.
Averaging decoded keypoints (``flip_keypoints``) avoids that entirely.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from poselive.keypoints import KeypointSet

ArrayLike = Any  # numpy array or torch tensor


def flip_index(flip: KeypointSet | Sequence[tuple[int, int]] | np.ndarray, num_keypoints: int | None = None) -> np.ndarray:
    """Permutation [K] mapping each keypoint to its mirror partner, from a set, pairs or a permutation."""
    if isinstance(flip, KeypointSet):
        return flip.flip_index()
    arr = np.asarray(flip)
    if arr.ndim == 1:
        return arr.astype(np.int64)
    if num_keypoints is None:
        raise ValueError("num_keypoints is needed when flip pairs are given")
    perm = np.arange(num_keypoints)
    for a, b in arr.reshape(-1, 2):
        perm[a], perm[b] = b, a
    return perm


def _flip_axis(x: ArrayLike, axis: int) -> ArrayLike:
    if isinstance(x, np.ndarray):
        return np.flip(x, axis).copy()
    return x.flip(axis)  # torch


def _take(x: ArrayLike, perm: np.ndarray, axis: int) -> ArrayLike:
    if isinstance(x, np.ndarray):
        return np.take(x, perm, axis=axis)
    import torch  # only reached when x already is a tensor

    return x.index_select(axis, torch.as_tensor(perm, device=x.device))


def flip_images(images: ArrayLike, layout: str = "nchw") -> ArrayLike:
    """Mirror an image batch horizontally ([N,C,H,W] for ``nchw``, [N,H,W,C] or [H,W,C] for ``nhwc``)."""
    if layout == "nchw":
        return _flip_axis(images, -1)
    if layout == "nhwc":
        return _flip_axis(images, -2)
    raise ValueError(f"layout must be 'nchw' or 'nhwc', not '{layout}'")


def flip_keypoints(keypoints: ArrayLike, width: float, flip: Any, scores: ArrayLike | None = None):
    """Mirror keypoints [N,K,2] in an image of ``width`` px and swap left/right partners.

    Applying it twice gives the input back, so it both flips and un-flips. Returns
    ``keypoints`` or ``(keypoints, scores)`` when scores are given.
    """
    perm = flip_index(flip, keypoints.shape[1])
    out = _take(keypoints, perm, 1)
    out = out * 1  # copy, also for tensors
    out[..., 0] = (width - 1) - out[..., 0]
    if scores is None:
        return out
    return out, _take(scores, perm, 1)


def _shift_last(x: ArrayLike, shift: float) -> ArrayLike:
    """Move values ``shift`` cells towards higher indices along the last axis (linear
    interpolation; edges repeat)."""
    if abs(shift) < 1e-9:
        return x
    n = x.shape[-1]
    src = np.arange(n, dtype=np.float64) - shift  # output cell i takes input at i - shift
    src = np.clip(src, 0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = (src - lo).astype(np.float32)
    if isinstance(x, np.ndarray):
        return x[..., lo] * (1 - frac) + x[..., hi] * frac
    import torch

    lo_t = torch.as_tensor(lo, device=x.device)
    hi_t = torch.as_tensor(hi, device=x.device)
    f = torch.as_tensor(frac, device=x.device, dtype=x.dtype)
    return x.index_select(-1, lo_t) * (1 - f) + x.index_select(-1, hi_t) * f


def output_flip_shift(codec_params: dict) -> float:
    """Cells by which a mirrored model output must be moved to line up with the original.

    With ``cell = px * s`` (s = cells per input px), mirroring the image maps a point to
    ``W - 1 - x`` while reversing the output maps cell ``c`` to ``n - 1 - c``; they differ by
    ``1 - s`` cells. UDP heatmaps map pixel centres to cell centres and need no shift.
    """
    kind = codec_params.get("type")
    iw = float(codec_params["input_size"][0])
    if kind == "simcc":
        s = float(codec_params.get("split_ratio", 2.0))
    elif kind == "msra_heatmap":
        s = float(codec_params["heatmap_size"][0]) / iw
    elif kind == "udp_heatmap":
        return 0.0
    else:
        raise ValueError(f"no flip shift known for codec '{kind}'")
    return 1.0 - s


def flip_back_heatmaps(heatmaps: ArrayLike, flip: Any, shift: float = 0.0) -> ArrayLike:
    """Heatmaps [N,K,h,w] predicted on mirrored images -> heatmaps of the original images."""
    perm = flip_index(flip, heatmaps.shape[1])
    out = _take(_flip_axis(heatmaps, -1), perm, 1)
    return _shift_last(out, shift)


def flip_back_simcc(simcc_x: ArrayLike, simcc_y: ArrayLike, flip: Any, shift: float = 0.0):
    """SimCC vectors [N,K,Wb], [N,K,Hb] predicted on mirrored images -> those of the originals."""
    perm = flip_index(flip, simcc_x.shape[1])
    x = _shift_last(_take(_flip_axis(simcc_x, -1), perm, 1), shift)
    return x, _take(simcc_y, perm, 1)


def average(a: ArrayLike, b: ArrayLike) -> ArrayLike:
    """Mean of the plain and the flipped-back prediction."""
    return (a + b) * 0.5
