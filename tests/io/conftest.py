"""Fixtures for the I/O tests: synthetic clips made with PyAV, and a loopback RTSP server."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"

# The moving rectangle of a synthetic clip: its left edge is at X0 + STEP * frame number.
X0, STEP, RECT_W = 4, 2, 24


def draw_frame(i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame i of a synthetic clip: a moving orange rectangle and the frame number."""
    w, h = size
    img = np.full((h, w, 3), 30, np.uint8)
    x = X0 + STEP * i
    cv2.rectangle(img, (x, 10), (x + RECT_W - 1, 50), (0, 160, 255), -1)
    cv2.putText(img, str(i), (4, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return img


def frame_number(image: np.ndarray) -> int:
    """Recover a synthetic frame's number from where its rectangle starts."""
    row = image[30, :, 2].astype(np.int32)  # red channel across the rectangle's middle
    cols = np.nonzero(row > 150)[0]
    assert cols.size, "no rectangle found in the frame"
    return int(round((cols[0] - X0) / STEP))


def write_clip(
    path: Path,
    n: int = 60,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    times: Sequence[float] | None = None,
    audio: str | None = None,
    codec: str = "libx264",
    faststart: bool = True,
) -> Path:
    """Write a synthetic clip with PyAV; times (seconds) default to i / fps.

    audio names an audio codec ("aac", "pcm_s16le", ...) for a 440 Hz tone track as
    long as the video.
    """
    times = list(times) if times is not None else [i / fps for i in range(n)]
    tb = Fraction(1, fps * 512)
    opts = {"movflags": "+faststart"} if faststart and path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), "w", options=opts) as out:
        v = out.add_stream(codec, rate=fps)
        v.width, v.height = size
        v.pix_fmt = "yuv420p"
        v.time_base = tb
        v.codec_context.time_base = tb
        a = None
        if audio:
            a = out.add_stream(audio, rate=16000)
            a.layout = "mono"
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(draw_frame(i, size), format="bgr24")
            frame.pts = int(round(t / tb))
            frame.time_base = tb
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            sr, chunk = 16000, 1024
            total = int(sr * (times[-1] + 1 / fps))
            fmt = "fltp" if audio == "aac" else "s16"
            for start in range(0, total, chunk):
                m = min(chunk, total - start)
                tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(start, start + m) / sr)
                data = tone.astype(np.float32) if fmt == "fltp" else (tone * 32767).astype(np.int16)
                af = av.AudioFrame.from_ndarray(data[None], format=fmt, layout="mono")
                af.sample_rate, af.pts, af.time_base = sr, start, Fraction(1, sr)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
    return path


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    """Factory: make_clip(name, **write_clip options) -> path of a new clip in tmp_path."""

    def make(name: str = "clip.mp4", **kwargs: object) -> Path:
        return write_clip(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def clip(make_clip: Callable[..., Path]) -> Path:
    """A 60-frame 25 fps 160x120 H.264 MP4 with a moving rectangle."""
    return make_clip("clip.mp4")


def _gst_rtsp_available() -> bool:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    check = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    try:
        r = subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


class RTSPServer:
    """A loopback GStreamer RTSP server process (tests/io/rtsp_server.py) that can be
    stopped and started again on the same port, as a camera that reboots."""

    def __init__(self, port: int = 0, fps: int = 15) -> None:
        self.port = port
        self.fps = fps
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/test"

    def start(self) -> "RTSPServer":
        """Start it and wait for READY; skips the test when the server cannot start."""
        if not _gst_rtsp_available():
            pytest.skip("GStreamer RTSP server not installed (see .ci/run)")
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(HERE / "rtsp_server.py"), "--fps", str(self.fps), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
                break
        if not line.startswith("READY"):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""  # type: ignore[union-attr]
            self.stop()
            pytest.skip(f"RTSP test server did not start: {line} {err[-500:]}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Kill the server (no RTSP teardown: the client sees the connection drop)."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def rtsp_url() -> Iterator[str]:
    """URL of a loopback GStreamer RTSP server serving an H.264 test pattern (15 fps)."""
    server = RTSPServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def rtsp_server() -> Iterator[RTSPServer]:
    """A server of this test's own, to stop and restart (reconnection tests)."""
    server = RTSPServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def helpers() -> object:
    """Module-like access to the helpers above (tests cannot import conftest by name)."""
    return sys.modules[__name__]
