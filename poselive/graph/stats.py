"""Statistics of a running graph: bounded latency windows and JSON-friendly snapshots."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

WINDOW = 1000  # latency samples kept per stage: recent behaviour, bounded memory
RECENT_S = 2.0  # throughput window for fps_recent


class LatencyWindow:
    """Thread-safe record of durations: the last ``size`` samples plus running totals."""

    def __init__(self, size: int = WINDOW) -> None:
        # a numpy ring buffer: snapshots are one memcpy, cheap enough to poll per frame
        self._buf = np.zeros(size, np.float64)
        self._lock = threading.Lock()
        self.count = 0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        """Record one duration in seconds."""
        with self._lock:
            self._buf[self.count % self._buf.size] = seconds
            self.count += 1
            self.total += seconds

    def snapshot(self) -> tuple[int, float, np.ndarray]:
        """(count, total seconds, window samples in seconds, in no particular order)."""
        with self._lock:
            return self.count, self.total, self._buf[: min(self.count, self._buf.size)].copy()


class RateMeter:
    """Completion times of the last few seconds, for a recent-throughput estimate."""

    def __init__(self, window_s: float = RECENT_S) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float) -> None:
        """Record one completion at perf_counter time ``now``."""
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()

    def rate(self, now: float, started: float) -> float:
        """Completions per second over the window (or since start if shorter)."""
        with self._lock:
            self._trim(now)
            span = min(self.window_s, now - started)
            return len(self._times) / span if span > 0 else 0.0


def _quantile(ordered: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile of sorted samples (numpy's default method)."""
    pos = q * (ordered.size - 1)
    lo = int(pos)
    hi = min(lo + 1, ordered.size - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def _mean(samples: np.ndarray) -> float:
    """Mean of the window samples."""
    return float(samples.sum() / samples.size)


def _ms(x: float) -> float:
    return round(float(x) * 1000.0, 3)


@dataclass
class StageStats:
    """One stage (or the source): latency over its recent window, and its input queue.

    Latencies are in milliseconds over the last ``WINDOW`` samples (None before the first
    sample); ``frames`` and ``busy_s`` count the whole run. For the source, latency is the
    time blocked reading the next frame (for a paced camera that includes waiting for it),
    and the queue fields are zero.
    """

    name: str
    frames: int = 0
    mean_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    busy_s: float = 0.0
    utilisation: float = 0.0  # busy_s / wall time: near 1.0 marks the bottleneck
    policy: str = ""  # policy of the input edge
    queue_capacity: int = 0
    queue_depth: int = 0  # items waiting in the input queue now
    queue_max_depth: int = 0
    drops: int = 0  # packets the input edge dropped ("latest" policy)
    discarded: int = 0  # packets thrown away on the input edge by a forced/error stop

    @staticmethod
    def from_window(name: str, window: LatencyWindow, wall_s: float) -> "StageStats":
        """Latency figures of one window."""
        count, total, samples = window.snapshot()
        s = StageStats(name=name, frames=count, busy_s=round(total, 6))
        if samples.size:
            # one sort instead of np.percentile: stats() is polled per frame by overlays
            ordered = np.sort(samples)
            s.mean_ms, s.max_ms = _ms(_mean(ordered)), _ms(ordered[-1])
            s.p50_ms, s.p95_ms = _ms(_quantile(ordered, 0.5)), _ms(_quantile(ordered, 0.95))
            s.p99_ms = _ms(_quantile(ordered, 0.99))
        s.utilisation = round(total / wall_s, 4) if wall_s > 0 else 0.0
        return s


@dataclass
class GraphStats:
    """A snapshot of a graph: counts, throughput, end-to-end latency and every stage.

    ``latency_*`` is end-to-end, from the packet's ``capture_time`` to leaving the last
    stage, over the last ``WINDOW`` packets. ``fps`` is frames out over the wall time;
    ``fps_recent`` over the last ``RECENT_S`` seconds. ``interrupted`` is True when
    SIGINT/SIGTERM stopped the run; ``stopped`` when anything asked it to stop early.
    """

    running: bool = False
    stopped: bool = False
    interrupted: bool = False
    signal: int | None = None  # SIGINT (2) or SIGTERM (15) when a signal interrupted the run
    error: str | None = None
    wall_time_s: float = 0.0
    frames_in: int = 0
    frames_out: int = 0
    drops: int = 0  # all edges together ("latest" policy)
    discarded: int = 0  # in flight when a stop or an error aborted the graph
    fps: float = 0.0
    fps_recent: float = 0.0
    latency_mean_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_max_ms: float | None = None
    source: StageStats = field(default_factory=lambda: StageStats(name="source"))
    stages: dict[str, StageStats] = field(default_factory=dict)
    stuck_threads: list[str] = field(default_factory=list)  # alive after stop_timeout
    # The source's own status() when it has one (RTSP: state, outages, reconnects).
    source_status: dict[str, Any] | None = None
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (nested dicts for the stages)."""
        return asdict(self)

    def exit_code(self) -> int:
        """The shell's convention for how the run ended: 0, or 128 + the signal that
        interrupted it (130 Ctrl-C, 143 SIGTERM)."""
        if not self.interrupted:
            return 0
        return 128 + (self.signal or 2)

    def hud(self) -> dict[str, str]:
        """A few short label -> text pairs for an on-screen overlay."""

        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.0f} ms"

        out = {"fps": f"{self.fps_recent:.1f}", "latency": f(self.latency_p50_ms)}
        if self.drops:
            out["drops"] = str(self.drops)
        return out

    def summary(self) -> str:
        """One short human-readable line (several when stages are many)."""

        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.1f}"

        head = (
            f"{self.frames_out}/{self.frames_in} frames in {self.wall_time_s:.2f} s "
            f"({self.fps:.1f} fps, recent {self.fps_recent:.1f}), "
            f"e2e p50 {f(self.latency_p50_ms)} ms p95 {f(self.latency_p95_ms)} ms, "
            f"drops {self.drops}"
        )
        if self.discarded:
            head += f", discarded {self.discarded}"
        st = self.source_status or {}
        if st.get("outages"):
            head += f", source lost {st['outages']}x, reconnected {st.get('reconnects', 0)}x"
        if self.interrupted:
            head += ", interrupted"
        elif self.stopped:
            head += ", stopped"
        if self.error:
            head += f", error: {self.error}"
        parts = [
            f"{s.name} {f(s.p50_ms)}/{f(s.p95_ms)} ms q{s.queue_depth}/{s.queue_capacity}"
            + (f" drop {s.drops}" if s.drops else "")
            for s in self.stages.values()
        ]
        return head + (" | " + ", ".join(parts) if parts else "")
