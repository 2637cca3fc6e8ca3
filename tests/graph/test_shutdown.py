"""Graph shutdown: errors, signals, stop() and stuck stages end cleanly and in bounded time."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Iterator

import pytest

from poselive.errors import StageError
from poselive.graph import Graph
from poselive.graph.testing import SleepStage, SyntheticSource
from poselive.types import FramePacket


def graph_threads() -> list[threading.Thread]:
    """Threads the runtime started that are still alive."""
    return [t for t in threading.enumerate() if t.name.startswith("graph:")]


@pytest.mark.parametrize("live", [False, True])
def test_error_in_middle_stage_names_it_and_closes_everything(live: bool) -> None:
    before = set(threading.enumerate())
    src = SyntheticSource(None, fps=200.0, is_live=live)  # endless: only the error ends it
    stages = [SleepStage("det", 0.001), SleepStage("pose", 0.001, fail_at=10), SleepStage("sink", 0.005)]
    g = Graph(src, stages, stop_timeout=1.0)
    # live edges may drop frame 10 on a loaded machine: pose then fails on the next frame
    # it gets; if it never failed, the watchdog stops the graph (a failure, not a hang)
    watchdog = threading.Timer(10.0, g.stop)
    watchdog.start()
    t = time.perf_counter()
    try:
        with pytest.raises(StageError) as info:
            g.run()
    finally:
        watchdog.cancel()
        watchdog.join()
    elapsed = time.perf_counter() - t
    failed_at = stages[1].failed_at
    assert failed_at is not None and failed_at >= 10 and (live or failed_at == 10)
    assert info.value.stage == "pose" and isinstance(info.value.error, RuntimeError)
    assert "pose" in str(info.value) and f"frame {failed_at}" in str(info.value)
    assert elapsed < 0.5 + g.stop_timeout, elapsed  # frame 10 arrives within ~0.1 s
    assert [s.close_calls for s in stages] == [1, 1, 1] and src.close_calls == 1
    assert failed_at not in stages[1].seen and all(i < failed_at for i in stages[2].seen)
    assert set(threading.enumerate()) == before and not graph_threads()
    stats = g.stats()
    assert not stats.running and stats.error and "pose" in stats.error


class FlakySource(SyntheticSource):
    """A real synthetic source whose stream breaks after ``fail_after`` frames."""

    def __init__(self, fail_after: int) -> None:
        super().__init__(None, name="camera0")
        self.fail_after = fail_after

    def __iter__(self) -> Iterator[FramePacket]:
        for packet in super().__iter__():
            if packet.index == self.fail_after:
                raise OSError("device unplugged")
            yield packet


def test_source_error_is_reported_under_the_source_name() -> None:
    src = FlakySource(5)
    sink = SleepStage("sink")
    with pytest.raises(StageError) as info:
        Graph(src, [sink]).run()
    assert info.value.stage == "camera0" and isinstance(info.value.error, OSError)
    assert sink.close_calls == 1 and src.close_calls == 1 and not graph_threads()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_run_stops_cleanly_and_returns_stats(signum: int) -> None:
    before = signal.getsignal(signum)
    src = SyntheticSource(None, fps=100.0, is_live=True)
    stages = [SleepStage("det", 0.002), SleepStage("sink", 0.002)]
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signum))
    t = time.perf_counter()  # before the timer starts: the signal comes >= 0.3 s after t
    timer.start()
    stats = Graph(src, stages).run()
    elapsed = time.perf_counter() - t
    timer.join()
    assert stats.interrupted and stats.stopped and not stats.running and stats.error is None
    assert stats.frames_out > 5 and 0.3 <= elapsed < 0.3 + 2.0 + 1.0
    assert stats.frames_in == stats.frames_out + stats.drops + stats.discarded
    assert [s.close_calls for s in stages] == [1, 1] and src.close_calls == 1
    assert signal.getsignal(signum) == before  # handler restored
    assert not graph_threads()


def test_raise_signal_from_timer_thread() -> None:
    src = SyntheticSource(None, fps=200.0, is_live=True)
    sink = SleepStage("sink", 0.001)
    timer = threading.Timer(0.2, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    stats = Graph(src, [sink]).run()
    timer.join()
    assert stats.interrupted and sink.close_calls == 1 and not graph_threads()


def test_stop_drains_lossless_in_flight_packets() -> None:
    src = SyntheticSource(None, fps=1000.0)  # a fast file-like source, never ends by itself
    sink = SleepStage("sink", 0.002)
    g = Graph(src, [SleepStage("a", 0.001), sink], queue_size=4)
    g.start()
    time.sleep(0.3)
    g.stop()
    stats = g.wait(5.0)
    # packets already queued were finished, in order, with none lost
    assert stats.frames_in == stats.frames_out == len(sink.seen) and stats.drops == 0
    assert sink.seen == list(range(len(sink.seen))) and sink.close_calls == 1
    assert not graph_threads()


class StuckStage(SleepStage):
    """A stage that hangs on one frame until released (a driver call that never returns)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, packet: FramePacket) -> FramePacket:
        if packet.index >= 3:  # not == 3: a live edge may drop frame 3 on a loaded machine
            self.entered.set()
            self.release.wait(30.0)
        return super().__call__(packet)


def test_stuck_stage_does_not_hold_shutdown_past_stop_timeout() -> None:
    stuck = StuckStage("stuck")
    after = SleepStage("after")
    g = Graph(SyntheticSource(None, fps=200.0, is_live=True), [stuck, after], stop_timeout=0.5)
    g.start()
    assert stuck.entered.wait(5.0)
    t = time.perf_counter()
    g.stop()
    stats = g.wait(5.0)
    elapsed = time.perf_counter() - t
    try:
        assert elapsed < 0.5 + 0.3, elapsed
        assert stats.stuck_threads == ["graph:stuck"]
        assert stuck.close_calls == 1 and after.close_calls == 1  # closed even so
    finally:
        stuck.release.set()
        for th in graph_threads():
            th.join(2.0)
    assert stuck.close_calls == 1 and not graph_threads()  # still exactly once


def test_stage_returning_none_and_failing_callback_are_stage_errors() -> None:
    class Forgetful(SleepStage):
        def __call__(self, packet: FramePacket) -> FramePacket:
            super().__call__(packet)
            return None  # type: ignore[return-value]

    with pytest.raises(StageError, match="forgetful.*FramePacket"):
        Graph(SyntheticSource(10), [Forgetful("forgetful")]).run()

    def callback(packet: FramePacket) -> None:
        raise ValueError("display gone")

    sink = SleepStage("sink")
    with pytest.raises(StageError) as info:
        Graph(SyntheticSource(10), [sink], on_result=callback).run()
    assert info.value.stage == "on_result" and sink.close_calls == 1
    assert not graph_threads()


def test_failing_close_is_reported_and_others_still_close() -> None:
    class BadSink(SleepStage):
        def close(self) -> None:
            super().close()
            raise OSError("disk full while finalising")

    first, bad = SleepStage("first"), BadSink("bad")
    with pytest.raises(StageError) as info:
        Graph(SyntheticSource(20), [first, bad]).run()
    assert info.value.stage == "bad" and first.close_calls == 1 and bad.close_calls == 1
    assert bad.seen == list(range(20))  # it failed at close, after every frame arrived


def test_stop_that_cannot_drain_in_time_discards_and_accounts_for_every_frame() -> None:
    src = SyntheticSource(None, fps=1000.0)
    sink = SleepStage("sink", 0.05)  # 4 queued packets need 0.2 s; the drain gets 0.1 s
    g = Graph(src, [SleepStage("a"), sink], queue_size=4, stop_timeout=0.2)
    g.start()
    time.sleep(0.3)
    g.stop()
    stats = g.wait(5.0)
    assert stats.discarded > 0 and stats.drops == 0 and sink.close_calls == 1
    assert stats.frames_in == stats.frames_out + stats.discarded
    assert not graph_threads()


class DeafSource(SyntheticSource):
    """A source whose reader and close() both hang (a wedged camera driver)."""

    def __init__(self) -> None:
        super().__init__(None, name="wedged")
        self.release = threading.Event()

    def __iter__(self) -> Iterator[FramePacket]:
        for packet in super().__iter__():
            if packet.index == 3:
                self.release.wait(30.0)
            yield packet

    def close(self) -> None:
        super().close()
        self.release.wait(30.0)


def test_wedged_source_does_not_hold_shutdown_past_stop_timeout() -> None:
    src = DeafSource()
    sink = SleepStage("sink")
    g = Graph(src, [sink], stop_timeout=0.4)
    g.start()
    time.sleep(0.1)
    t = time.perf_counter()
    g.stop()
    stats = g.wait(5.0)
    elapsed = time.perf_counter() - t
    try:
        assert elapsed < 0.4 + 0.3, elapsed
        assert set(stats.stuck_threads) == {"graph:wedged", "graph:close:wedged"}
        assert sink.close_calls == 1 and sink.seen == [0, 1, 2]
    finally:
        src.release.set()
        for th in graph_threads():
            th.join(2.0)
    assert src.close_calls == 1 and not graph_threads()
