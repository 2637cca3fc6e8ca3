"""One-Euro filter (Casiez et al., CHI 2012) for keypoints, vectorised over any array shape.

The cutoff frequency of a first-order low-pass filter rises with the filtered speed:
``cutoff = min_cutoff + beta * |dx/dt|``. At rest the low ``min_cutoff`` removes jitter;
when the point moves, the cutoff rises and the lag shrinks. Units are pixels and seconds:
``min_cutoff`` and ``d_cutoff`` in Hz, ``beta`` in 1/px (per px/s of speed, Hz).

For a point moving at constant speed v the filter lags by ``1 / (2 pi cutoff)`` seconds,
so the lag in pixels is ``v / (2 pi (min_cutoff + beta v))`` and never exceeds
``1 / (2 pi beta)`` whatever the speed (3.2 px for beta = 0.05).
"""

from __future__ import annotations

import math

import numpy as np

from poselive.errors import ConfigError

# Defaults measured in docs/tracking.md: on COCO-17 walkers at 30 fps with 2 px noise they
# cut frame-to-frame jitter of a still pose by >60% and lag < 1 frame above ~80 px/s.
DEFAULT_MIN_CUTOFF = 1.0
DEFAULT_BETA = 0.05
DEFAULT_D_CUTOFF = 1.0


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro low-pass filter over arrays of values (e.g. keypoints [K, 2])."""

    def __init__(self, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ConfigError("One-Euro filter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0 "
                              f"(got {min_cutoff}, {d_cutoff}, {beta})")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next value passes through unchanged."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float, mask: np.ndarray | None = None) -> np.ndarray:
        """Filtered copy of ``x`` at time ``t`` (seconds).

        ``mask`` (broadcastable to the leading dimensions of ``x``) marks the entries to
        smooth; the others (e.g. keypoints with a low score) pass through and restart from
        their new value, so a point that reappears does not glide in from a stale place.
        """
        x = np.asarray(x, np.float64)
        if self._x is None or self._x.shape != x.shape or self._t is None or t <= self._t:
            # First value (or a time that did not advance): nothing to filter against.
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._t = float(t)
            return x.astype(np.float32)
        dt = float(t) - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1.0 - a_d) * self._dx
        # The speed of a 2-D point is the norm over its last axis, so x and y of a keypoint
        # share one cutoff (otherwise a diagonal move is smoothed unevenly).
        speed = np.linalg.norm(dx_hat, axis=-1, keepdims=True) if x.ndim >= 2 else np.abs(dx_hat)
        a = _alpha(self.min_cutoff + self.beta * speed, dt)
        x_hat = a * x + (1.0 - a) * self._x
        if mask is not None:
            m = np.asarray(mask, bool)
            m = m.reshape(m.shape + (1,) * (x.ndim - m.ndim))
            x_hat = np.where(m, x_hat, x)
            dx_hat = np.where(m, dx_hat, 0.0)
        self._x, self._dx, self._t = x_hat, dx_hat, float(t)
        return x_hat.astype(np.float32)


class KeypointSmoother:
    """One One-Euro filter per track ID; filters of vanished tracks are dropped."""

    def __init__(self, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF, score_threshold: float = 0.3) -> None:
        OneEuroFilter(min_cutoff, beta, d_cutoff)  # validate once, here
        self.params = (min_cutoff, beta, d_cutoff)
        self.score_threshold = score_threshold
        self.filters: dict[int, OneEuroFilter] = {}

    def __call__(self, track_ids: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 t: float) -> np.ndarray:
        """Keypoints [N,K,2] with the rows of confirmed IDs (>= 0) smoothed."""
        out = np.array(keypoints, np.float32, copy=True)
        seen = set()
        for i, tid in enumerate(np.asarray(track_ids).reshape(-1)):
            tid = int(tid)
            if tid < 0:
                continue
            seen.add(tid)
            f = self.filters.get(tid)
            if f is None:  # a track is born (or confirmed): start from its raw skeleton
                f = self.filters[tid] = OneEuroFilter(*self.params)
            out[i] = f(out[i], t, np.asarray(scores[i]) > self.score_threshold)
        return out

    def forget(self, alive_ids) -> None:
        """Drop the filters of IDs not in ``alive_ids``."""
        alive = set(int(i) for i in alive_ids)
        for tid in list(self.filters):
            if tid not in alive:
                del self.filters[tid]
