"""The end-of-run summary: a head line, the models and backend, and a small aligned table
of the stages (p50, p95, utilisation, drops)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def head_line(stats: Any) -> str:
    """Frames, time, throughput and end-to-end latency (from capture to the last stage)."""
    text = (f"{stats.frames_out}/{stats.frames_in} frames in {stats.wall_time_s:.1f} s, {stats.fps:.1f} fps, "
            f"end-to-end latency p50 {_ms(stats.latency_p50_ms)} ms, p95 {_ms(stats.latency_p95_ms)} ms, "
            f"{stats.drops} dropped")
    first = next(iter(stats.stages.values()), None)
    if first is not None and first.policy == "lossless":
        # A file read as fast as the graph takes it: the latency is mostly time spent
        # waiting in the full lossless queues, not the time one frame takes.
        text += " (latency on a file is mostly queueing; --realtime measures live latency)"
    if stats.discarded:
        text += f", {stats.discarded} discarded"
    st = stats.source_status or {}
    if st.get("outages"):
        text += f", source lost {st['outages']}x, reconnected {st.get('reconnects', 0)}x"
    if stats.interrupted:
        text += ", interrupted"
    elif stats.stopped:
        text += ", stopped"
    if stats.error:
        text += f", error: {stats.error}"
    return text


def models_line(models: dict[str, tuple[str, str]] | None) -> str | None:
    """``models: detector X (backend), pose Y (backend)`` from ``{role: (path, backend)}``."""
    if not models:
        return None
    parts = [f"{role} {Path(path).name} ({backend})" for role, (path, backend) in models.items()]
    return "models: " + ", ".join(parts)


def stage_table(stats: Any) -> list[str]:
    """One aligned row per stage, the source first."""
    rows = [("stage", "p50 ms", "p95 ms", "util", "queue", "drops")]
    for s in [stats.source, *stats.stages.values()]:
        queue = f"{s.queue_max_depth}/{s.queue_capacity}" if s.queue_capacity else "-"
        rows.append((s.name, _ms(s.p50_ms), _ms(s.p95_ms), f"{100 * s.utilisation:.0f}%", queue, str(s.drops)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
    return out


def print_summary(stats: Any, pipe: Any = None, prefix: str = "") -> None:
    """Say the summary of one pipeline's run on stderr (not with --quiet), then its outputs."""
    from poselive.apps.logs import say

    import sys

    for line in summary_lines(stats, getattr(pipe, "models", None)):
        say(f"{prefix}{line}")
    skipped = list(getattr(getattr(pipe, "source", None), "skipped", None) or [])
    if skipped:
        names = ", ".join(Path(p).name for p, _ in skipped[:5]) + (" …" if len(skipped) > 5 else "")
        say(f"{prefix}skipped {len(skipped)} unreadable image{'s' if len(skipped) > 1 else ''}: {names}")
    reports = pipe.reports() if hasattr(pipe, "reports") else [f"wrote {o}" for o in getattr(pipe, "outputs", [])]
    for line in reports:
        if line.startswith("wrote "):
            say(f"{prefix}{line}")
        else:  # what a failed run left behind is said even with --quiet
            print(f"{prefix}{line}", file=sys.stderr)


def summary_lines(stats: Any, models: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """The whole summary as lines: head, models, stage table (util = share of the wall time
    a stage worked; the busiest one sets the pace; queue = deepest its input queue got)."""
    lines = [head_line(stats)]
    m = models_line(models)
    if m:
        lines.append(m)
    lines.extend(stage_table(stats))
    return lines
