"""Sources and sinks in the real graph runtime: a file in, MP4 + JSONL out, corruption reported."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from poselive.errors import StageError
from poselive.graph import Graph
from poselive.sinks import JsonlSink, VideoSink, read_jsonl
from poselive.sources import open_source


def test_file_through_graph_to_video_and_jsonl(make_clip, tmp_path: Path) -> None:
    clip = make_clip("in.mp4", audio="aac")
    src = open_source(clip)
    video = VideoSink(tmp_path / "out.mp4", src.fps, src.size, time_base=src.info["time_base"],
                      audio_from=src.info["path"] if src.info["has_audio"] else None)
    jsonl = JsonlSink(tmp_path / "out.jsonl", {"source": str(clip), "fps": src.fps})
    stats = Graph(src, [video, jsonl]).run(handle_signals=False)
    assert stats is not None
    header, frames = read_jsonl(tmp_path / "out.jsonl")
    assert header["fps"] == 25.0 and [f["frame"] for f in frames] == list(range(60))
    assert [f["time"] for f in frames] == pytest.approx([i / 25 for i in range(60)], abs=1e-6)
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert len(list(c.decode(video=0))) == 60


def test_corrupt_file_is_reported_and_earlier_frames_are_kept(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    src = open_source(cut)
    jsonl = JsonlSink(tmp_path / "cut.jsonl", {})
    with pytest.raises(StageError, match="cut.mp4"):
        Graph(src, [jsonl]).run(handle_signals=False)
    _, frames = read_jsonl(tmp_path / "cut.jsonl")
    assert len(frames) > 0 and [f["frame"] for f in frames] == list(range(len(frames)))
