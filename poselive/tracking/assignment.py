"""Linear assignment with a cost threshold: SciPy's Hungarian solver, or a greedy fallback."""

from __future__ import annotations

import numpy as np

from poselive.interrupts import reraise_interrupt

try:  # SciPy comes with motmetrics; the tracker works (slightly less optimally) without it.
    from scipy.optimize import linear_sum_assignment as _lsa
except ImportError as exc:  # pragma: no cover - depends on the environment
    reraise_interrupt(exc)
    _lsa = None

HAVE_SCIPY = _lsa is not None


def _greedy(cost: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Repeatedly take the cheapest remaining pair below the threshold."""
    flat = np.argsort(cost, axis=None)
    rows_used: set[int] = set()
    cols_used: set[int] = set()
    pairs = []
    for f in flat:
        r, c = divmod(int(f), cost.shape[1])
        if cost[r, c] > threshold:
            break
        if r in rows_used or c in cols_used:
            continue
        rows_used.add(r)
        cols_used.add(c)
        pairs.append((r, c))
    return pairs


def linear_assignment(cost: np.ndarray, threshold: float,
                      use_scipy: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match rows to columns minimising total cost, keeping only pairs with cost <= threshold.

    Returns (matches [P, 2] of (row, col), unmatched rows, unmatched cols).
    """
    cost = np.asarray(cost, np.float64)
    n, m = cost.shape
    if n == 0 or m == 0:
        return np.zeros((0, 2), np.int64), np.arange(n), np.arange(m)
    scipy_ok = HAVE_SCIPY if use_scipy is None else (use_scipy and HAVE_SCIPY)
    if scipy_ok:
        # lapjv's cost_limit (ByteTrack): leaving a row or a column unmatched costs
        # threshold / 2, so a pair is worth (cost - threshold) against leaving both out.
        # Minimising that gain does not trade one strong pair for two weak ones, which a
        # large penalty on pairs above the threshold would (it maximises the match count).
        rows, cols = _lsa(np.minimum(cost - threshold, 0.0))
        pairs = [(r, c) for r, c in zip(rows, cols) if cost[r, c] <= threshold]
    else:
        pairs = _greedy(cost, threshold)
    matches = np.asarray(pairs, np.int64).reshape(-1, 2)
    un_r = np.setdiff1d(np.arange(n), matches[:, 0])
    un_c = np.setdiff1d(np.arange(m), matches[:, 1])
    return matches, un_r, un_c
