"""Renderer: draws where the poses are, nothing far away, and leaves the input alone."""

from __future__ import annotations

import numpy as np

from poselive.keypoints import get_keypoint_set
from poselive.stages import Renderer
from poselive.stages.render import rgb_to_bgr, track_color
from poselive.types import Detections, FramePacket, Poses

COCO = get_keypoint_set("coco17")


def one_person(track_ids=None) -> tuple[FramePacket, np.ndarray]:
    """A grey 640x480 frame with one upright skeleton in the left half."""
    rng = np.random.default_rng(1)
    kpts = np.zeros((1, 17, 2), np.float32)
    kpts[0, :, 0] = 120 + rng.uniform(-40, 40, 17)
    kpts[0, :, 1] = np.linspace(100, 400, 17)
    scores = np.full((1, 17), 0.9, np.float32)
    scores[0, 16] = 0.1  # below threshold: must not be drawn
    boxes = np.array([[60, 80, 180, 420]], np.float32)
    poses = Poses(kpts, scores, boxes, np.array([0.95], np.float32),
                  None if track_ids is None else np.asarray(track_ids, np.int64))
    img = np.full((480, 640, 3), 60, np.uint8)
    return FramePacket(0, 0.0, img, poses=poses), kpts[0]


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).sum(-1) > 0


def test_draws_keypoints_and_leaves_far_pixels():
    packet, kpts = one_person()
    original = packet.image.copy()
    out = Renderer("coco17", kpt_threshold=0.3, hud=False)(packet)
    assert out.rendered is not None and out.rendered.shape == original.shape
    np.testing.assert_array_equal(packet.image, original)  # drawn on a copy
    diff = changed(out.rendered, original)
    for k in range(16):
        x, y = np.round(kpts[k]).astype(int)
        assert diff[y, x], f"keypoint {k} not drawn"
        # The dot's centre has the keypoint set's colour, in BGR.
        np.testing.assert_array_equal(out.rendered[y, x], rgb_to_bgr(COCO.colors[k]))
    assert not diff[:, 260:].any()  # the right half has no person: untouched


def test_low_score_keypoint_is_not_drawn():
    packet, kpts = one_person()
    # Move the low-score point far from everything else; nothing may appear there.
    packet.poses.keypoints[0, 16] = (500, 300)
    out = Renderer("coco17", kpt_threshold=0.3, hud=False)(packet)
    assert not changed(out.rendered, packet.image)[280:320, 480:520].any()
    packet.poses.keypoints[0, 3] = np.nan  # a broken model output is skipped, not a crash
    Renderer("coco17", hud=False)(packet)


def test_track_ids_have_stable_colours_and_labels():
    packet, _ = one_person(track_ids=[7])
    r = Renderer(COCO, hud=False)
    out = r(packet).rendered
    color = np.array(track_color(7))
    # The box's left edge, away from the skeleton, is in the track's colour.
    assert (np.abs(out[250, 59:62].astype(int) - color).sum(-1) < 40).any()
    assert track_color(7) == track_color(7) and track_color(7) != track_color(8)
    # The ID label sits above the box: pixels changed there compared to no IDs.
    no_ids = Renderer(COCO, hud=False, draw_ids=False)(one_person(track_ids=[7])[0]).rendered
    assert changed(out[40:80, 60:130], no_ids[40:80, 60:130]).any()


def test_hud_shows_only_given_stats():
    packet, _ = one_person()
    stats = {"fps": 29.7, "latency_ms": 41.0}
    with_hud = Renderer(COCO, stats_provider=lambda: stats)(packet).rendered
    without = Renderer(COCO, hud=False, stats_provider=lambda: stats)(packet).rendered
    corner = (slice(0, 60), slice(0, 200))
    assert changed(with_hud[corner], without[corner]).any()
    empty = Renderer(COCO, stats_provider=lambda: {})(packet).rendered
    np.testing.assert_array_equal(empty, without)  # no keys -> no panel
    fps_only = Renderer(COCO, stats_provider=lambda: {"fps": 30.0})(packet).rendered
    # One line instead of two: the panel is shorter.
    rows = lambda im: np.flatnonzero(changed(im[:, :5], without[:, :5]).any(1)).max()  # noqa: E731
    assert rows(fps_only) < rows(with_hud)


def test_detections_without_poses_draw_boxes():
    img = np.full((240, 320, 3), 30, np.uint8)
    dets = Detections(np.array([[20, 30, 100, 200]], np.float32), np.array([0.9], np.float32),
                      np.zeros(1, np.int64))
    out = Renderer(COCO, hud=False)(FramePacket(0, 0.0, img, detections=dets)).rendered
    diff = changed(out, img)
    assert diff[100, 19:22].any() and not diff[100, 40:80].any() and not diff[:, 150:].any()


def test_id_labels_of_a_group_do_not_overlap():
    from poselive.stages.render import place_labels

    # Five people side by side, boxes overlapping heavily (a group walking together).
    boxes = [np.array([100 + 12 * i, 200 + 3 * i, 160 + 12 * i, 360], np.float32) for i in range(5)]
    labels = [(f"#{10 + i}", b, track_color(10 + i)) for i, b in enumerate(boxes)]
    rects = [r for _, r, _ in place_labels(labels, (480, 640, 3), 0.53, 1)]
    for i, a in enumerate(rects):
        assert 0 <= a[0] < a[2] <= 640 and 0 <= a[1] < a[3] <= 480
        for b in rects[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    # each label stays near its own box (within a few label heights of its top edge)
    for (_, box, _), r in zip(labels, rects):
        assert abs(r[1] - box[1]) < 6 * (r[3] - r[1]) and box[0] - 80 <= r[0] <= box[2]


def test_hud_shows_fps_only_once_measured_and_names_the_latency():
    from poselive.apps.pipeline import HUD_MIN_FRAMES, hud_stats
    from poselive.graph.stats import GraphStats

    early = hud_stats(GraphStats(frames_out=1, fps_recent=0.0, latency_p50_ms=50.0), live=True)
    assert early["fps"] is None and early["latency_ms"] == 50.0
    later = hud_stats(GraphStats(frames_out=HUD_MIN_FRAMES, fps_recent=12.0), live=False)
    assert later["fps"] == 12.0 and later["live"] is False
    packet, _ = one_person()
    no_fps = Renderer(COCO, stats_provider=lambda: early)(packet).rendered
    with_fps = Renderer(COCO, stats_provider=lambda: {**early, "fps": 12.0})(packet).rendered
    # The FPS line adds a second line to the panel: the panel is taller.
    dark = lambda img: int((img[:, :5].max(-1) < 40).any(-1).sum())  # noqa: E731 - rows of the darkened panel
    assert dark(with_fps) > dark(no_fps) > 0
