"""Several graphs at once, one per source (several cameras or streams in one process).

The graphs start together and a signal (Ctrl-C, SIGTERM) stops them together: the first
drains every graph, the second discards what is in flight. Otherwise each graph ends on
its own: a source that ends, fails or cannot be reached does not stop the others, and each
graph's error is reported with its name instead of being raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from poselive.errors import StageError
from poselive.graph.runtime import Graph, install_signal_handlers, restore_signal_handlers
from poselive.graph.stats import GraphStats
from poselive.interrupts import reraise_interrupt


@dataclass
class GraphOutcome:
    """How one graph of a group ended: its final statistics, and its error if it failed."""

    name: str
    stats: GraphStats
    error: StageError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def start_graphs(graphs: Sequence[Graph], max_frames: int | None = None) -> None:
    """Start every graph; if one cannot start, stop the ones already started and raise."""
    started: list[Graph] = []
    try:
        for g in graphs:
            g.start(max_frames)
            started.append(g)
    except BaseException:
        for g in started:
            g.stop(force=True)
        for g in started:
            _wait_quietly(g)
        raise


def collect(graphs: Sequence[Graph], names: Sequence[str]) -> list[GraphOutcome]:
    """Wait for every graph to shut down; one outcome per graph, errors kept, not raised."""
    out = []
    for name, g in zip(names, graphs):
        try:
            out.append(GraphOutcome(name, g.wait()))
        except StageError as exc:
            out.append(GraphOutcome(name, g.stats(), exc))
    return out


def run_graphs(graphs: Sequence[Graph], names: Sequence[str] | None = None, max_frames: int | None = None,
               handle_signals: bool = True) -> list[GraphOutcome]:
    """Run graphs side by side until each ends; returns their outcomes in order.

    ``max_frames`` applies to each graph. With ``handle_signals`` (on the main thread)
    SIGINT/SIGTERM stop all graphs cleanly (``stats.interrupted``), a second signal
    discards in-flight packets, a third reaches the previous handler.
    """
    names = list(names) if names is not None else [g.source_name for g in graphs]
    if len(names) != len(graphs):
        raise ValueError(f"{len(graphs)} graphs but {len(names)} names")
    previous: dict[int, object] = {}
    signals = [0]

    def on_signal(signum: int, frame: object) -> None:
        signals[0] += 1
        for g in graphs:
            g._on_signal(signum, frame)  # noqa: SLF001 - the same stop logic as Graph.run
        if signals[0] >= 2:
            restore_signal_handlers(previous)

    try:
        if handle_signals:
            previous.update(install_signal_handlers(on_signal))
        start_graphs(graphs, max_frames)
        for g in graphs:
            g._wait_finished(None)  # noqa: SLF001 - interruptible wait, as in Graph.run
    except BaseException:
        for g in graphs:
            if g.is_running():
                g.stop(force=True)
        for g in graphs:
            _wait_quietly(g)
        raise
    finally:
        restore_signal_handlers(previous)
    return collect(graphs, names)


def _wait_quietly(g: Graph) -> None:
    try:
        g.wait(g.stop_timeout + 1.0)
    except Exception as exc:  # noqa: BLE001 - its error (or "never started") is reported elsewhere
        reraise_interrupt(exc)
