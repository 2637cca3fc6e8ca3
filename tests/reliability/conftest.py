"""Real damaged and unusual media made in the tests, and the CLI run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import av
import cv2
import numpy as np
import pytest

from poselive import assets

REPO = Path(__file__).resolve().parents[2]
SAMPLE = assets.sample_path()


def draw(i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame i: a grey frame with a white square in its top-left corner (shows orientation)
    and a bar whose position encodes i."""
    w, h = size
    img = np.full((h, w, 3), 60, np.uint8)
    s = max(1, min(w, h) // 4)
    img[:s, :s] = 255
    x = (3 * i) % max(1, w - 4)
    img[h // 2:, x:x + 4] = (0, 160, 255)
    return img


def write_clip(path: Path, n: int = 30, fps: int = 25, size: tuple[int, int] = (96, 64),
               times: Sequence[float] | None = None, faststart: bool = True, rotation: int = 0,
               frames: Sequence[np.ndarray] | None = None, gop: int | None = None,
               noise: bool = False) -> Path:
    """An H.264 clip written with PyAV. ``faststart``: the index (moov) at the start, else at
    the end; ``rotation``: a display matrix (degrees counterclockwise) on the stream;
    ``frames``: images to write instead of the synthetic ones; ``noise``: grainy frames, so
    that the video data (not the index) makes up most of the file."""
    images = list(frames) if frames is not None else [draw(i, size) for i in range(n)]
    if noise:
        rng = np.random.default_rng(0)
        images = [np.clip(im.astype(np.int16) + rng.integers(-20, 20, im.shape), 0, 255).astype(np.uint8)
                  for im in images]
    size = (images[0].shape[1], images[0].shape[0])
    times = list(times) if times is not None else [i / fps for i in range(len(images))]
    tb = Fraction(1, fps * 512)
    opts = {"movflags": "+faststart"} if faststart and path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), "w", options=opts) as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height = size
        v.pix_fmt = "yuv420p"
        v.time_base = tb
        v.codec_context.time_base = tb
        if gop:
            v.codec_context.gop_size = gop
        if rotation:
            v.set_display_rotation(rotation)
        for img, t in zip(images, times):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            frame.pts = int(round(t / tb))
            frame.time_base = tb
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An M4A with one AAC track and no video."""
    sr = 16000
    with av.open(str(path), "w", format="mp4") as out:
        a = out.add_stream("aac", rate=sr)
        a.layout = "mono"
        total = int(sr * seconds)
        for start in range(0, total, 1024):
            m = min(1024, total - start)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(start, start + m) / sr)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = sr, start, Fraction(1, sr)
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return path


def decodable(path: Path) -> int:
    """Frames FFmpeg decodes from the file before its first error (the reference count)."""
    n = 0
    try:
        with av.open(str(path)) as c:
            for _ in c.decode(c.streams.video[0]):
                n += 1
    except (av.FFmpegError, OSError, IndexError):
        pass
    return n


def video_frames(path: Path) -> list[float]:
    """Presentation times (s) of every frame of an output video, decoded strictly."""
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(c.streams.video[0])]


def run_cli(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """``python -m poselive ARGS`` in a subprocess, from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "poselive", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=kw.pop("cwd", REPO), env=env, **kw)


def popen_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "poselive", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


def one_clear_line(stderr: str) -> None:
    """No traceback, and the error said in one line."""
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("poselive: error:")]
    assert len(errors) == 1, stderr


@pytest.fixture
def media() -> SimpleNamespace:
    """The helpers above, for tests (conftest modules cannot be imported by name)."""
    return SimpleNamespace(write_clip=write_clip, write_audio_only=write_audio_only, draw=draw,
                           decodable=decodable, video_frames=video_frames, run_cli=run_cli,
                           popen_cli=popen_cli, one_clear_line=one_clear_line, SAMPLE=SAMPLE, REPO=REPO)
