"""The GUI's recorder stage: switched on and off while frames flow, the same frames in both files."""

from __future__ import annotations

import pytest

from poselive.apps.gui.playback import RecorderStage
from poselive.assets import asset_dir
from poselive.sinks import read_jsonl
from poselive.sources.playback import PlaybackSource
from poselive.stages.render import Renderer

SAMPLE = asset_dir() / "sample.mp4"


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the shipped sample clip is needed")
def test_recorder_writes_the_same_frames_to_mp4_and_jsonl(tmp_path):
    import av

    src = PlaybackSource(str(SAMPLE), realtime=False)
    rec = RecorderStage(Renderer("coco17"), header={"source": "sample"})
    for p in src:
        if p.index == 3:
            rec.start(tmp_path / "r.mp4", src.fps, src.size)
        rec(p)
        if p.index == 12:
            break
    src.close()
    assert rec.stop() == 10 and rec.frames == 10
    with av.open(str(tmp_path / "r.mp4")) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == 10
    header, lines = read_jsonl(tmp_path / "r.jsonl")
    assert header["source"] == "sample" and [ln["frame"] for ln in lines] == list(range(3, 13))
