"""Property-based: for generated videos, lossless mode keeps every frame and timestamp."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poselive.graph import Graph
from poselive.sinks import JsonlSink, SinkGroup, VideoSink, read_jsonl
from poselive.sources import VideoFileSource


@st.composite
def videos(draw):
    w = draw(st.integers(2, 80))
    h = draw(st.integers(2, 60))
    fps = draw(st.sampled_from([1, 5, 10, 24, 25, 30, 60]))
    n = draw(st.integers(1, 25))
    vfr = draw(st.booleans())
    if vfr:
        steps = draw(st.lists(st.integers(1, 40), min_size=n - 1, max_size=n - 1))
        ticks = np.concatenate([[0], np.cumsum(steps)]) if n > 1 else np.array([0])
        times = [float(t) / (fps * 8) for t in ticks]
    else:
        times = [i / fps for i in range(n)]
    return (w + w % 2, h + h % 2), fps, times  # libx264 4:2:0 needs even sizes to write


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(video=videos())
def test_lossless_frames_in_equal_frames_out_with_their_timestamps(media, tmp_path_factory, video):
    size, fps, times = video
    d = tmp_path_factory.mktemp("prop")
    clip = media.write_clip(d / "in.mp4", fps=fps, size=size, times=times)
    src = VideoFileSource(clip)
    pts_in = []

    class Record:  # a real stage that notes the timestamps that went in
        name = "record"

        def __call__(self, p):
            pts_in.append(p.pts)
            return p

    group = SinkGroup([VideoSink(d / "o.mp4", fps=src.fps or fps, size=src.size, time_base=src.info["time_base"]),
                       JsonlSink(d / "o.jsonl", {})])
    stats = Graph(src, [Record(), group], policy="lossless", queue_size=2).run(handle_signals=False)
    n = len(times)
    assert stats.frames_in == stats.frames_out == n == len(pts_in)
    assert pts_in == pytest.approx(times, abs=1e-3)
    out_times = media.video_frames(d / "o.mp4")
    _, lines = read_jsonl(d / "o.jsonl")
    assert len(out_times) == len(lines) == n
    assert out_times == pytest.approx(pts_in, abs=1e-6)
    assert [f["time"] for f in lines] == pytest.approx(pts_in, abs=1e-6)
