"""RTSPSource reconnection against a real loopback RTSP server that is killed and restarted
on the same port, as a camera that reboots or a network that drops."""

from __future__ import annotations

import threading
import time

import pytest

from poselive.errors import ConfigError, SourceError
from poselive.sources import RTSPSource

pytestmark = pytest.mark.rtsp


def _take(it, n: int, timeout: float) -> list:
    out = []
    deadline = time.monotonic() + timeout
    for p in it:
        out.append(p)
        if len(out) >= n or time.monotonic() > deadline:
            break
    return out


def test_stream_comes_back_after_the_server_restarts(rtsp_server) -> None:
    src = RTSPSource(rtsp_server.url, timeout=2, analyze_duration=0.5, reconnect=20,
                     reconnect_delay=0.25, reconnect_max_delay=1.0)
    try:
        it = iter(src)
        before = _take(it, 5, 10)
        assert len(before) == 5 and src.status()["state"] == "live"
        rtsp_server.stop()
        t_down = time.monotonic()
        # Give the reader time to see the drop and start reconnecting, then bring it back.
        deadline = time.monotonic() + 10
        while src.status()["outages"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = src.status()
        assert status["outages"] == 1 and status["state"] == "reconnecting", status
        time.sleep(1.0)
        rtsp_server.start()
        after = _take(it, 5, 30)
        gap = time.monotonic() - t_down
    finally:
        src.close()
    assert len(after) == 5, "no frames after the server came back"
    status = src.status()
    assert status["reconnects"] == 1 and status["outages"] == 1, status
    assert status["last_error"]
    pts = [p.pts for p in before + after]
    assert all(b > a for a, b in zip(pts, pts[1:])), pts
    # The jump over the outage is about its wall-clock length, not a restart at 0. (The
    # first frames of `after` may still be from before the drop: the reader was ahead.)
    jump = max(b - a for a, b in zip(pts, pts[1:]))
    assert 0.5 < jump < gap + 2.0, (jump, gap)
    assert after[0].image.shape == (120, 160, 3)


def test_reconnect_0_ends_at_the_first_drop(rtsp_server) -> None:
    src = RTSPSource(rtsp_server.url, timeout=2, analyze_duration=0.5, reconnect=0)
    got: list = []
    outcome: dict = {}

    def consume() -> None:
        try:
            for p in src:
                got.append(p)
                if len(got) == 3:
                    rtsp_server.stop()
        except SourceError as exc:
            outcome["error"] = exc
        outcome["done"] = True

    t = threading.Thread(target=consume)
    t.start()
    t.join(20)
    src.close()
    assert outcome.get("done"), "iteration did not end after the server died"
    assert len(got) >= 3
    assert src.status()["outages"] == 0 and src.status()["state"] == "ended"


def test_a_server_that_stays_down_fails_after_the_tries(rtsp_server) -> None:
    src = RTSPSource(rtsp_server.url, timeout=1, analyze_duration=0.5, reconnect=2,
                     reconnect_delay=0.2, reconnect_max_delay=0.4)
    it = iter(src)
    try:
        assert len(_take(it, 2, 10)) == 2
        rtsp_server.stop()
        start = time.monotonic()
        with pytest.raises(SourceError) as err:
            for _ in it:
                pass
        elapsed = time.monotonic() - start
    finally:
        src.close()
    text = str(err.value)
    assert "2 reconnection tries" in text and "127.0.0.1" in text, text
    assert elapsed < 20, elapsed
    assert src.status()["state"] == "ended" and src.status()["outages"] == 1


def test_close_during_reconnection_returns_promptly(rtsp_server) -> None:
    src = RTSPSource(rtsp_server.url, timeout=1, analyze_duration=0.5, reconnect=None,
                     reconnect_delay=5.0)
    it = iter(src)
    done = threading.Event()
    assert len(_take(it, 2, 10)) == 2
    rtsp_server.stop()

    def drain() -> None:
        for _ in it:
            pass
        done.set()

    t = threading.Thread(target=drain)
    t.start()
    deadline = time.monotonic() + 10
    while src.status()["state"] != "reconnecting" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert src.status()["state"] == "reconnecting"
    t0 = time.monotonic()
    src.close()
    assert done.wait(3), "iteration did not end after close() during a reconnection"
    assert time.monotonic() - t0 < 3


def test_negative_reconnect_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="reconnect"):
        RTSPSource("rtsp://127.0.0.1:1/x", reconnect=-1)
