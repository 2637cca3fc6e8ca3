"""Renderer: track trails and the HUD drawn from the graph's statistics."""

import numpy as np

from poselive.stages.render import Renderer, track_color
from poselive.types import FramePacket, Poses


def test_trails_are_drawn_in_the_track_colour():
    img = np.zeros((240, 320, 3), np.uint8)
    p = FramePacket(0, 0.0, img)
    p.poses = Poses.empty(17)
    p.meta["trails"] = {7: [[20.0, 200.0], [120.0, 200.0], [220.0, 200.0]]}
    out = Renderer("coco17", hud=False)(p).rendered
    assert tuple(int(c) for c in out[197:204, 120].max(0)) == track_color(7)
    assert out[100, 120].sum() == 0  # far from the trail: untouched
    assert img.sum() == 0  # the source image stays as it was


def test_hud_shows_fps_latency_and_drops():
    img = np.zeros((240, 320, 3), np.uint8)
    r = Renderer("coco17", stats_provider=lambda: {"fps": 12.5, "latency_ms": 80.0, "drops": 3})
    quiet = Renderer("coco17", stats_provider=lambda: {"fps": 12.5, "latency_ms": 80.0})
    a = r(FramePacket(0, 0.0, img)).rendered
    b = quiet(FramePacket(0, 0.0, img)).rendered
    assert a[:15, :60].any()  # HUD in the top-left corner
    # The extra "dropped" line makes the HUD taller.
    assert np.count_nonzero(a.any(-1).any(1)) > np.count_nonzero(b.any(-1).any(1))
