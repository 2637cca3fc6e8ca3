"""Outputs never hurt inputs: every output path is checked before anything is opened."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from poselive.errors import ConfigError
from poselive.sinks.paths import check_output_paths


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


CASES = {
    "out and json the same file": (lambda d, src: ["--out", str(d / "x.mp4"), "--json", str(d / "x.mp4")],
                                   "both name"),
    "same file by another spelling": (lambda d, src: ["--out", str(d / "x.mp4"),
                                                      "--csv", str(d / "sub" / ".." / "x.mp4")], "both name"),
    "json is the source": (lambda d, src: ["--json", str(src)], "is the source"),
    "out is the source": (lambda d, src: ["--out", str(src)], "is the source"),
    "out is a symlink to the source": (lambda d, src: ["--out", str(d / "link.mp4")], "is the source"),
    "csv is a hard link to the source": (lambda d, src: ["--csv", str(d / "hard.csv")], "is the source"),
    "folder cannot be made": (lambda d, src: ["--json", str(d / "afile" / "x.jsonl")], "is a file"),
    "output is a folder": (lambda d, src: ["--out", str(d / "sub")], "is a folder"),
    "stats-json is the source": (lambda d, src: ["--json", str(d / "ok.jsonl"), "--stats-json", str(src)],
                                 "is the source"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_output_paths_fail_before_anything_opens(case, media, tmp_path):
    src = tmp_path / "in.mp4"
    shutil.copy(media.SAMPLE, src)
    (tmp_path / "sub").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "link.mp4").symlink_to(src)
    os.link(src, tmp_path / "hard.csv")
    before = _digest(src)
    args, message = CASES[case]
    r = media.run_cli("process", str(src), *args(tmp_path, src), "--quiet", timeout=60)
    assert r.returncode == 1, r.stderr
    media.one_clear_line(r.stderr)
    assert message in r.stderr
    assert _digest(src) == before
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "ok.jsonl").exists()
    assert not list(tmp_path.glob("*.partial.*"))


def test_check_output_paths_directly(tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(b"video")
    check_output_paths({"--out": tmp_path / "a.mp4", "--json": tmp_path / "new" / "a.jsonl", "--csv": None},
                       sources=[src, 0, "rtsp://cam/1"])
    (tmp_path / "in2.partial.mp4").write_bytes(b"v")
    with pytest.raises(ConfigError, match="partial"):
        # in2.mp4 would be written as in2.partial.mp4, which is the source
        check_output_paths({"--out": tmp_path / "in2.mp4"}, sources=[tmp_path / "in2.partial.mp4"])
    with pytest.raises(ConfigError, match=r"\[b\] --json"):
        check_output_paths([("[a] --json", tmp_path / "o.jsonl"), ("[b] --json", tmp_path / "o.jsonl")])


def test_a_run_writes_partial_files_and_renames_them(media, tmp_path):
    clip = media.write_clip(tmp_path / "c.mp4", n=8)
    out, js, csv = tmp_path / "o.mp4", tmp_path / "o.jsonl", tmp_path / "o.csv"
    r = media.run_cli("process", str(clip), "--out", str(out), "--json", str(js), "--csv", str(csv))
    assert r.returncode == 0, r.stderr
    assert f"wrote {out} (8 frames)" in r.stderr and f"wrote {js} (8 frames)" in r.stderr
    assert out.exists() and js.exists() and csv.exists()
    assert not list(tmp_path.glob("*.partial.*"))
    assert len(media.video_frames(out)) == 8
