"""Shutdown under stress: every run() returns within its bound, whatever ends the graph."""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from typing import Iterator

import pytest

from poselive.errors import StageError
from poselive.graph import Graph
from poselive.graph.testing import SleepStage, SyntheticSource
from poselive.types import FramePacket

STOP_TIMEOUT = 1.0  # error paths abort at once: only a stuck thread would take this long
# from the moment something asks the graph to stop (an error, stop(), a signal) run()
# must be back within stop_timeout; the rest is slack for a loaded 2-core machine
BOUND_S = STOP_TIMEOUT + 0.5


def graph_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("graph:")]


class Timed(SleepStage):
    """A SleepStage that remembers when it raised, optionally also failing in close()."""

    def __init__(self, name: str, seconds: float, fail_at: int | None, bad_close: bool) -> None:
        super().__init__(name, seconds, fail_at)
        self.bad_close = bad_close
        self.failed_time: float | None = None

    def __call__(self, packet: FramePacket) -> FramePacket:
        try:
            return super().__call__(packet)
        except RuntimeError:
            self.failed_time = time.perf_counter()
            raise

    def close(self) -> None:
        super().close()
        if self.bad_close:
            raise OSError("disk full while finalising")


class BreakingSource(SyntheticSource):
    """An endless synthetic source whose stream breaks after ``fail_after`` frames."""

    def __init__(self, fail_after: int, is_live: bool) -> None:
        super().__init__(None, fps=1000.0, is_live=is_live, name="camera")
        self.fail_after = fail_after
        self.failed_time: float | None = None

    def __iter__(self) -> Iterator[FramePacket]:
        for packet in super().__iter__():
            if packet.index >= self.fail_after:
                self.failed_time = time.perf_counter()
                raise OSError("device unplugged")
            yield packet


class CountedSource(SyntheticSource):
    """A synthetic source that starts ``on_first`` (a timer) at its first frame.

    The first frame comes after run() has installed its signal handlers, so a stop or
    signal timed from there always reaches the graph.
    """

    def __init__(self, num_frames: int | None, is_live: bool) -> None:
        super().__init__(num_frames, fps=1000.0, is_live=is_live)
        self.on_first: threading.Timer | None = None

    def __iter__(self) -> Iterator[FramePacket]:
        for packet in super().__iter__():
            if packet.index == 0 and self.on_first is not None:
                self.on_first.start()
            yield packet


@pytest.fixture()
def tiny_switch_interval() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: shakes out races
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@pytest.fixture()
def harmless_sigint() -> Iterator[list[int]]:
    """A recording SIGINT handler outside run(), so a late signal cannot end the session."""
    got: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield got
    finally:
        signal.signal(signal.SIGINT, old)


def test_hammer_shutdown_paths(tiny_switch_interval: None, harmless_sigint: list[int]) -> None:
    rng = random.Random(20240611)
    budget_end = time.perf_counter() + 5.0
    runs = 0
    kinds_seen: set[str] = set()
    while runs < 200 and (runs < 12 or time.perf_counter() < budget_end):
        runs += 1
        live = rng.random() < 0.5
        kind = rng.choice(["stage_error", "source_error", "stop", "stop_force", "signal",
                           "close_error", "on_result_error"])
        kinds_seen.add(kind)
        n = rng.randint(1, 3)
        failing = rng.randrange(n)
        fail_at = rng.randint(0, 12)
        stages = [
            Timed(f"s{i}", rng.choice([0.0, 0.0005]),
                  fail_at if kind == "stage_error" and i == failing else None,
                  kind == "close_error" and i == failing)
            for i in range(n)
        ]
        if kind == "source_error":
            src: SyntheticSource = BreakingSource(fail_at, live)
        else:
            # endless: only the error, stop() or signal under test ends the graph
            src = CountedSource(None if kind != "close_error" else fail_at + 1, live)
        on_result_failed: list[float] = []

        def on_result(packet: FramePacket) -> None:
            if packet.index >= fail_at:
                on_result_failed.append(time.perf_counter())
                raise ValueError("display gone")

        g = Graph(src, stages, queue_size=rng.randint(1, 3), stop_timeout=STOP_TIMEOUT,
                  on_result=on_result if kind == "on_result_error" else None)
        asked: list[float] = []
        delay = rng.uniform(0.0, 0.03)

        def ask_stop() -> None:
            asked.append(time.perf_counter())
            if kind == "signal":
                signal.raise_signal(signal.SIGINT)
            else:
                g.stop(force=kind == "stop_force")

        trigger = threading.Timer(delay, ask_stop) if kind in ("stop", "stop_force", "signal") else None
        if trigger is not None:
            assert isinstance(src, CountedSource)
            src.on_first = trigger  # started by the source thread at frame 0
        watchdog = threading.Timer(8.0, g.stop, kwargs={"force": True})  # a failure, not a hang
        watchdog.start()
        t0 = time.perf_counter()
        error: StageError | None = None
        try:
            g.run()
        except StageError as exc:
            error = exc
        finally:
            back = time.perf_counter()
            watchdog.cancel()
            watchdog.join()
            if trigger is not None and trigger.is_alive():
                trigger.join()
        what = f"run {runs}: {kind}, live={live}, {n} stages, fail_at={fail_at}"
        stamps = asked + on_result_failed + [
            x.failed_time for x in [*stages, src] if getattr(x, "failed_time", None) is not None
        ]
        if kind == "close_error":
            stamps.append(t0)  # a finite stream: ends by itself, then close() fails
        assert stamps, f"{what}: nothing ever asked the graph to stop"
        assert back - min(stamps) < BOUND_S + (1.0 if kind == "close_error" else 0.0), what
        expect_error = kind in ("stage_error", "source_error", "close_error", "on_result_error")
        assert (error is not None) == expect_error, f"{what}: {error!r}"
        stats = g.stats()
        assert not stats.running and not stats.stuck_threads, what
        assert [s.close_calls for s in stages] == [1] * n and src.close_calls == 1, what
        for th in graph_threads():  # a finished graph leaves no thread behind
            th.join(1.0)
        assert not graph_threads(), what
    assert runs >= 12 and len(kinds_seen) >= 5, (runs, kinds_seen)


def test_dead_supervisor_cannot_hang_run(monkeypatch: pytest.MonkeyPatch) -> None:
    src = SyntheticSource(None, fps=500.0, is_live=True)
    sink = SleepStage("sink")
    g = Graph(src, [sink], stop_timeout=0.3)

    def broken() -> float | None:
        raise RuntimeError("supervisor bug")

    monkeypatch.setattr(g, "_supervise_loop", broken)
    t = time.perf_counter()
    with pytest.raises(StageError) as info:
        g.run()
    assert time.perf_counter() - t < 0.3 + 1.5
    assert info.value.stage == "graph:supervisor" and "supervisor bug" in str(info.value)
    assert sink.close_calls == 1 and src.close_calls == 1 and not g.is_running()
    for th in graph_threads():
        th.join(2.0)
    assert not graph_threads()


def test_wedged_supervisor_cannot_hang_run_or_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    src = SyntheticSource(None, fps=500.0, is_live=True)
    sink = SleepStage("sink")
    g = Graph(src, [sink], stop_timeout=0.3)
    monkeypatch.setattr(g, "_supervise_loop", lambda: release.wait(30.0) and None)
    timer = threading.Timer(0.1, g.stop)
    timer.start()
    t = time.perf_counter()
    try:
        stats = g.run()
        elapsed = time.perf_counter() - t
        timer.join()
        # the run() deadline: stop_timeout + its margin after the stop request
        assert elapsed < 0.1 + 0.3 + 1.0 + 0.6, elapsed
        assert not stats.running and stats.stopped
        assert "graph:supervisor" in stats.stuck_threads
        assert src.close_calls == 1 and sink.close_calls == 1  # closed by the take-over
        assert g.wait(None).stuck_threads == stats.stuck_threads  # returns at once now
    finally:
        release.set()
        for th in graph_threads():
            th.join(2.0)
    assert not graph_threads()


def test_stuck_stage_whose_close_hangs_too_is_reported() -> None:
    release, entered = threading.Event(), threading.Event()

    class Wedged(SleepStage):
        def __call__(self, packet: FramePacket) -> FramePacket:
            if packet.index >= 2:  # not == 2: the live edge may drop frame 2
                entered.set()
                release.wait(30.0)
            return super().__call__(packet)

        def close(self) -> None:
            super().close()
            release.wait(30.0)

    wedged = Wedged("wedged")
    g = Graph(SyntheticSource(None, fps=500.0, is_live=True), [wedged], stop_timeout=0.3)
    g.start()
    assert entered.wait(5.0)
    t = time.perf_counter()
    g.stop()
    try:
        stats = g.wait(5.0)
        assert time.perf_counter() - t < 0.3 + 0.5, time.perf_counter() - t
        assert not stats.running
        assert set(stats.stuck_threads) == {"graph:wedged", "graph:close:stuck"}
    finally:
        release.set()
        for th in graph_threads():
            th.join(2.0)
    assert wedged.close_calls == 1 and not graph_threads()
