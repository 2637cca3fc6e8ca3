"""The live window: a real Qt window (offscreen) showing the newest rendered frames."""

from __future__ import annotations

import pytest

pytest.importorskip("PyQt6.QtWidgets")

from poselive.apps.viewer import bgr_to_qimage, run_viewer  # noqa: E402
from poselive.graph import Graph  # noqa: E402
from poselive.graph.testing import SleepStage, SyntheticSource  # noqa: E402
from poselive.stages.render import Renderer  # noqa: E402


def test_window_shows_frames_until_the_stream_ends():
    src = SyntheticSource(40, size=(160, 120), fps=100.0, is_live=True, realtime=True)
    graph = Graph(src, [SleepStage("work", 0.002), Renderer("coco17", stats_provider=lambda: {"fps": 30.0})])
    windows: list = []
    stats = run_viewer(graph, title="test", poll_ms=5, window_out=windows)
    assert stats.frames_in == 40 and not graph.is_running()
    win = windows[0]
    assert win.frames_shown >= 5  # newest frames were displayed while the graph ran
    assert win.last_frame_size == (160, 120)
    assert win.shown_index >= 30  # the last frames reached the screen


def test_bgr_to_qimage_keeps_colours():
    import numpy as np

    img = np.zeros((4, 6, 3), np.uint8)
    img[..., 2] = 255  # red in BGR
    q = bgr_to_qimage(img)
    c = q.pixelColor(1, 1)
    assert (q.width(), q.height()) == (6, 4) and (c.red(), c.green(), c.blue()) == (255, 0, 0)


def test_several_graphs_show_as_tiles_of_one_window():
    from poselive.graph.multi import collect

    graphs = [Graph(SyntheticSource(n, size=(160, 120), fps=100.0, is_live=True, realtime=True, name=f"s{n}"),
                    [SleepStage(f"work{n}", 0.002), Renderer("coco17")]) for n in (30, 45)]
    windows: list = []
    assert run_viewer(graphs, title="grid", poll_ms=5, window_out=windows, titles=["a", "b"]) is None
    outcomes = collect(graphs, ["a", "b"])
    assert [o.stats.frames_in for o in outcomes] == [30, 45] and all(o.ok for o in outcomes)
    win = windows[0]
    assert len(win.tiles) == 2 and [t.name for t in win.tiles] == ["a", "b"]
    assert all(t.frames_shown >= 3 and t.last_frame_size == (160, 120) for t in win.tiles)
    assert not any(g.is_running() for g in graphs)
