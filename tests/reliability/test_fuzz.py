"""Fuzz: a few hundred mutated video files (fixed seed) through the file source.

Each must either play (frames, then the end) or fail with SourceError (one clear line);
no other exception, no crash of the process, no hang. The cases run in a child process,
so a crash inside FFmpeg fails the test instead of killing pytest, and each case is
watched: one that takes longer than HANG_S is reported as a hang.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

CASES = 300
SEED = 20261207
HANG_S = 20.0

WORKER = textwrap.dedent("""
    import json, sys, time, threading, os
    from poselive.errors import SourceError
    from poselive.sources import VideoFileSource
    for path in sys.argv[1:]:
        print(json.dumps({"start": path}), flush=True)
        t0 = time.perf_counter()
        frames, outcome = 0, "ok"
        try:
            src = VideoFileSource(path)
            try:
                for _ in src:
                    frames += 1
            finally:
                src.close()
        except SourceError as exc:
            outcome = "SourceError"
            assert "\\n" not in str(exc)
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"path": path, "outcome": outcome, "frames": frames,
                          "seconds": round(time.perf_counter() - t0, 3)}), flush=True)
""")


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    kind = rng.integers(0, 6)
    if kind == 0:  # flip a few bytes
        for i in rng.integers(0, len(b), rng.integers(1, 20)):
            b[i] ^= int(rng.integers(1, 256))
    elif kind == 1:  # zero a span
        i = int(rng.integers(0, len(b)))
        b[i:i + int(rng.integers(1, 2000))] = bytes(min(len(b) - i, int(rng.integers(1, 2000))))
    elif kind == 2:  # truncate
        b = b[: int(rng.integers(0, len(b)))]
    elif kind == 3:  # duplicate a chunk
        i, j = sorted(int(x) for x in rng.integers(0, len(b), 2))
        b[j:j] = b[i:i + 4000]
    elif kind == 4:  # random bytes inserted
        i = int(rng.integers(0, len(b)))
        b[i:i] = rng.integers(0, 256, int(rng.integers(1, 500)), dtype=np.uint8).tobytes()
    else:  # box sizes / headers: damage the first kilobyte
        for i in rng.integers(0, min(1024, len(b)), rng.integers(1, 8)):
            b[i] = int(rng.integers(0, 256))
    return bytes(b)


@pytest.mark.slow
def test_mutated_files_never_crash_or_hang(media, tmp_path):
    seeds = [media.write_clip(tmp_path / "a.mp4", n=16, size=(64, 48), gop=5),
             media.write_clip(tmp_path / "b.mp4", n=16, size=(64, 48), faststart=False)]
    avi = tmp_path / "c.avi"
    vw = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(16):
        vw.write(media.draw(i, (64, 48)))
    vw.release()
    seeds.append(avi)
    rng = np.random.default_rng(SEED)
    cases = []
    for k in range(CASES):
        seed = seeds[k % len(seeds)]
        p = tmp_path / f"m{k:03d}{seed.suffix}"
        p.write_bytes(_mutate(seed.read_bytes(), rng))
        cases.append(str(p))
    env = {**os.environ, "PYTHONPATH": str(media.REPO)}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, *cases], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        out, err = proc.communicate(timeout=HANG_S * 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        started = [json.loads(ln) for ln in out.splitlines() if '"start"' in ln]
        pytest.fail(f"hang: the fuzz worker did not finish; last case started: {started[-1] if started else None}")
    assert proc.returncode == 0, f"the worker crashed (exit {proc.returncode}):\n{err[-2000:]}"
    results = [json.loads(ln) for ln in out.splitlines() if '"outcome"' in ln]
    assert len(results) == CASES
    bad = [r for r in results if r["outcome"] not in ("ok", "SourceError")]
    assert not bad, bad[:5]
    slow = [r for r in results if r["seconds"] > HANG_S]
    assert not slow, slow[:5]
    # the fuzzing did exercise both paths
    assert sum(r["outcome"] == "ok" for r in results) > 20
    assert sum(r["outcome"] == "SourceError" for r in results) > 20
