"""RTSPSource against a real loopback GStreamer RTSP server (skips when not installed)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from poselive.errors import ConfigError, SourceError
from poselive.sources import RTSPSource, open_source
from poselive.sources.base import redact_url

pytestmark = pytest.mark.rtsp


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_frames_arrive_with_increasing_pts(rtsp_url: str, transport: str) -> None:
    src = open_source(rtsp_url, transport=transport, timeout=5, analyze_duration=0.5)
    try:
        assert isinstance(src, RTSPSource) and src.is_live
        assert src.size == (160, 120) and src.info["kind"] == "rtsp"
        assert src.info["transport"] == transport
        packets = []
        for p in src:
            packets.append(p)
            if len(packets) == 8:
                break
    finally:
        src.close()
    pts = [p.pts for p in packets]
    assert all(b > a for a, b in zip(pts, pts[1:])), pts
    assert all(b > a for a, b in zip([p.index for p in packets], [p.index for p in packets[1:]]))
    # The stream runs at 15 fps: 8 frames span roughly half a second of stream time.
    assert 0.2 < pts[-1] - pts[0] < 5.0
    assert packets[0].image.shape == (120, 160, 3)


def test_close_from_another_thread_ends_iteration(rtsp_url: str) -> None:
    src = RTSPSource(rtsp_url, timeout=5, analyze_duration=0.5)
    seen: list[int] = []
    done = threading.Event()

    def consume() -> None:
        for p in src:
            seen.append(p.index)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    src.close()
    assert done.wait(3), "iteration did not end after close()"
    t.join(1)
    assert seen
    src.close()


def test_dead_port_fails_fast_naming_the_url() -> None:
    url = f"rtsp://user:secret@127.0.0.1:{_dead_port()}/test"
    start = time.monotonic()
    with pytest.raises(SourceError) as err:
        open_source(url, timeout=2)
    elapsed = time.monotonic() - start
    assert "127.0.0.1" in str(err.value) and "/test" in str(err.value)
    assert "secret" not in str(err.value), "passwords must not leak into messages"
    assert elapsed < 2 + 3, "the open timeout was not honoured"


def test_bad_transport_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="transport"):
        RTSPSource("rtsp://127.0.0.1:1/x", transport="http")


def test_redact_url() -> None:
    assert redact_url("rtsp://admin:pa55@cam:554/s") == "rtsp://admin:***@cam:554/s"
    assert redact_url("rtsp://cam:554/s") == "rtsp://cam:554/s"
