"""A full disk or a write error: the run stops at once, naming the file; what was written
before it stays playable (MP4) and complete (JSONL/CSV lines)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import av
import pytest

import poselive.sinks.atomic as atomic
from poselive.errors import SinkError, StageError
from poselive.graph import Graph
from poselive.sinks import CsvSink, JsonlSink, SinkGroup, VideoSink, read_jsonl
from poselive.sources import open_source


class _DiskFills:
    """os.write that accepts ``room`` bytes in all, then writes part of a buffer and fails
    with ENOSPC, as a real full disk does."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = os.write

    def __call__(self, fd: int, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(data), self.room)
        self.room -= n
        return self.real(fd, bytes(data[:n]))


def test_a_record_cut_by_a_full_disk_is_taken_back(tmp_path, monkeypatch):
    sink = JsonlSink(tmp_path / "o.jsonl", {"source": "x"})
    monkeypatch.setattr(atomic.os, "write", _DiskFills(room=5))
    from poselive.types import FramePacket
    import numpy as np

    with pytest.raises(SinkError, match=r"o\.jsonl.*No space left"):
        sink(FramePacket(index=0, pts=0.0, image=np.zeros((2, 2, 3), np.uint8)))
    monkeypatch.undo()
    text = sink.partial_path.read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 1  # the header, whole; no half line
    with pytest.raises(SinkError, match="No space"):  # refuses more after the error
        sink(FramePacket(index=1, pts=0.1, image=np.zeros((2, 2, 3), np.uint8)))
    sink.close()
    assert not sink.path.exists() and sink.partial_path.exists()
    assert "left" in sink.report() and "partial" in sink.report()


def test_write_error_at_the_os_boundary_stops_the_graph(media, tmp_path, monkeypatch):
    """Every output writes through os.write; the disk fills part-way through the run."""
    clip = media.write_clip(tmp_path / "c.mp4", n=150, size=(160, 120), noise=True)
    src = open_source(clip)
    group = SinkGroup([VideoSink(tmp_path / "o.mp4", fps=25, size=src.size, time_base=src.info["time_base"]),
                       JsonlSink(tmp_path / "o.jsonl", {"source": "c"}),
                       CsvSink(tmp_path / "o.csv", [])])
    monkeypatch.setattr(atomic.os, "write", _DiskFills(room=120_000))
    t0 = time.perf_counter()
    with pytest.raises(StageError, match=r"sinks.*No space left") as info:
        Graph(src, [group], queue_size=2).run(handle_signals=False)
    assert time.perf_counter() - t0 < 2.0 + 1.0  # the graph's stop_timeout, plus a margin
    monkeypatch.undo()
    assert "o." in str(info.value)  # names the file
    assert not [t for t in threading.enumerate() if t.name.startswith("graph:")]
    # an output whose write failed is left as .partial and says so; one that had no error
    # is complete for the frames it got and is renamed into place
    failed = [s for s in group.sinks if s.failed]
    assert failed and all(not s.finished and s.written_path.name.endswith(".partial" + s.path.suffix)
                          for s in failed)
    assert all((r.startswith("left ") if s.failed else r.startswith("wrote ")) for s, r in
               zip(group.sinks, group.reports()))
    video, jsonl = group.sinks[0], group.sinks[1]
    frames = media.video_frames(video.written_path)  # decodes cleanly to its end
    assert 0 < len(frames) <= video.frames_written
    text = jsonl.written_path.read_text()
    assert text.endswith("\n")
    _, lines = read_jsonl(jsonl.written_path)
    assert [f["frame"] for f in lines] == list(range(len(lines)))


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                       capture_output=True)
    return r.returncode == 0


CHECK = textwrap.dedent("""
    import json, sys, av
    d = sys.argv[1]
    out = {}
    import os
    out["files"] = sorted(os.listdir(d))
    mp4 = [f for f in out["files"] if f.endswith(".mp4")][0]
    n = 0
    try:
        with av.open(os.path.join(d, mp4)) as c:
            for _ in c.decode(video=0):
                n += 1
        out["mp4_clean"] = True
    except Exception as exc:
        out["mp4_clean"] = False
    out["mp4_frames"] = n
    js = [f for f in out["files"] if f.endswith(".jsonl")][0]
    text = open(os.path.join(d, js)).read()
    out["jsonl_ends_with_newline"] = text.endswith("\\n")
    out["jsonl_frames"] = sum(1 for line in text.splitlines()[1:] if json.loads(line))
    print(json.dumps(out))
""")


@pytest.mark.slow
@pytest.mark.skipif(not _unshare_works(), reason="cannot mount a small tmpfs here (unshare -rm)")
def test_real_full_filesystem_through_the_cli(media, tmp_path):
    clip = media.write_clip(tmp_path / "c.mp4", n=150, size=(160, 120), noise=True)
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "check.py").write_text(CHECK)
    env = {**os.environ, "PYTHONPATH": str(media.REPO)}
    script = (f"mount -t tmpfs -o size=128k tmpfs {disk} && "
              f"{sys.executable} -m poselive process {clip} --out {disk}/o.mp4 --json {disk}/o.jsonl --quiet; "
              f"echo rc=$? >&2; {sys.executable} {tmp_path}/check.py {disk}")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                       env=env, cwd=media.REPO)
    assert "rc=1" in r.stderr, r.stderr
    media.one_clear_line(r.stderr)
    assert "No space left" in r.stderr and "o." in r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert "left" in r.stderr and ".partial." in r.stderr  # says what it left behind
    assert result["mp4_clean"] and result["mp4_frames"] > 0  # plays to its last fragment
    assert result["jsonl_ends_with_newline"] and result["jsonl_frames"] > 0
