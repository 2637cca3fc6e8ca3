"""PlaybackSource: a source that can be paced in real time, paused, looped and resumed."""

from __future__ import annotations

import threading
import time

from poselive.graph.testing import SyntheticSource
from poselive.sources.playback import PlaybackSource


def synthetic(n=10, fps=20.0, live=False):
    return lambda spec, **_: SyntheticSource(n, size=(32, 24), fps=fps, is_live=live)


def test_real_time_releases_no_frame_before_its_time():
    src = PlaybackSource("x", opener=synthetic(10, fps=20.0), realtime=True)
    t0 = time.perf_counter()
    got = [(p.index, time.perf_counter() - t0) for p in src]
    assert [i for i, _ in got] == list(range(10))
    # frame i is due i/20 s after the first one (a lower bound: load only makes it later)
    assert all(t >= i / 20.0 - 0.01 for i, t in got)


def test_fast_mode_does_not_wait():
    src = PlaybackSource("x", opener=synthetic(50, fps=1.0), realtime=False)
    t0 = time.perf_counter()
    assert len(list(src)) == 50
    assert time.perf_counter() - t0 < 5.0  # 50 s of clip in real time


def test_loop_keeps_counting_and_timestamps_increase():
    src = PlaybackSource("x", opener=synthetic(5, fps=10.0), realtime=False, loop=True)
    got = []
    for p in src:
        got.append(p)
        if len(got) == 12:
            src.close()
    assert [p.index for p in got] == list(range(12))
    pts = [p.pts for p in got]
    assert all(b > a for a, b in zip(pts, pts[1:])) and src.loops == 2


def test_start_at_resumes_a_file_where_it_was():
    src = PlaybackSource("x", opener=synthetic(10), realtime=False, start_at=6)
    got = list(src)
    assert [int(p.image[0, 0, 0]) for p in got] == [6, 7, 8, 9] and src.position == 9


def test_pause_holds_a_file_and_close_ends_a_paused_stream():
    src = PlaybackSource("x", opener=synthetic(100), realtime=False)
    src.set_paused(True)
    got: list = []
    t = threading.Thread(target=lambda: got.extend(src))
    t.start()
    time.sleep(0.3)
    assert got == [] and src.status()["paused"]
    src.set_paused(False)
    deadline = time.perf_counter() + 5
    while len(got) < 100 and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert len(got) == 100
    t.join(2)
    src2 = PlaybackSource("x", opener=synthetic(100), realtime=False)
    src2.set_paused(True)
    t2 = threading.Thread(target=lambda: list(src2))
    t2.start()
    time.sleep(0.1)
    src2.close()
    t2.join(2)
    assert not t2.is_alive()


def test_paused_live_source_discards_frames():
    src = PlaybackSource("x", opener=synthetic(30, live=True))
    src.set_paused(True)
    assert list(src) == []  # every frame read while paused was dropped
