"""The render stage: skeletons, boxes, track IDs and a HUD drawn on a copy of the frame."""

from __future__ import annotations

import colorsys
from typing import Callable

import cv2
import numpy as np

from poselive.keypoints import KeypointSet, get_keypoint_set
from poselive.types import FramePacket

BGR = tuple[int, int, int]

_SHIFT = 4  # fixed-point bits for OpenCV drawing: sub-pixel positions, smoother AA lines
_ONE = 1 << _SHIFT
_BOX_COLOR: BGR = (80, 220, 80)  # boxes of persons without a track ID
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def rgb_to_bgr(color: tuple[int, int, int]) -> BGR:
    """An RGB triple (as keypoint sets store colours) in OpenCV's BGR order."""
    r, g, b = color
    return (int(b), int(g), int(r))


def track_color(track_id: int) -> BGR:
    """A stable, well-separated BGR colour for a track ID (golden-ratio hue steps)."""
    hue = (int(track_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return (int(b * 255), int(g * 255), int(r * 255))


def _fixed(x: float, y: float) -> tuple[int, int]:
    return (int(round(x * _ONE)), int(round(y * _ONE)))


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(labels: list[tuple[str, np.ndarray, BGR]], shape: tuple[int, ...], scale: float,
                 thick: int) -> list[tuple[str, tuple[int, int, int, int], BGR]]:
    """Rectangles (x1, y1, x2, y2) for ID labels that do not overlap one another.

    Each label tries, in order: above its box's top-left corner, just inside it, above and
    inside the top-right corner; then those spots moved further up or down in steps of one
    label height. Boxes are served from the top of the image down, so in a group the
    people in front (lower in the image) move, not the ones already labelled."""
    h, w = shape[:2]
    order = sorted(range(len(labels)), key=lambda i: (float(labels[i][1][1]), float(labels[i][1][0])))
    placed: list[tuple[int, int, int, int]] = []
    out = []
    for i in order:
        text, box, color = labels[i]
        (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
        lw, lh = tw + 4, th + base + 2
        bx1, by1, bx2 = int(box[0]), int(box[1]), int(box[2])
        spots = [(bx1, by1 - lh), (bx1, by1), (bx2 - lw, by1 - lh), (bx2 - lw, by1)]
        for step in range(1, 6):
            for x, y in [(bx1, by1 - lh), (bx2 - lw, by1 - lh)]:
                spots += [(x, y - step * lh), (x, y + (step + 1) * lh)]
        chosen = None
        for x, y in spots:
            x = min(max(x, 0), max(0, w - lw))
            y = min(max(y, 0), max(0, h - lh))
            rect = (x, y, x + lw, y + lh)
            if not any(_overlaps(rect, p) for p in placed):
                chosen = rect
                break
        if chosen is None:  # a crowd with no free spot nearby: keep the first, on top
            x, y = spots[0]
            x, y = min(max(x, 0), max(0, w - lw)), min(max(y, 0), max(0, h - lh))
            chosen = (x, y, x + lw, y + lh)
        placed.append(chosen)
        out.append((text, chosen, color))
    return out


class Renderer:
    """Sets ``packet.rendered``: the image with poses, boxes, IDs and an FPS/latency HUD."""

    name = "render"

    def __init__(self, keypoint_set: KeypointSet | str = "coco17", kpt_threshold: float = 0.3,
                 draw_boxes: bool = True, draw_ids: bool = True, hud: bool = True,
                 stats_provider: Callable[[], dict] | None = None, draw_skeleton: bool = True,
                 draw_trails: bool = True) -> None:
        self.keypoint_set = get_keypoint_set(keypoint_set) if isinstance(keypoint_set, str) else keypoint_set
        self.kpt_threshold = float(kpt_threshold)
        self.draw_boxes = draw_boxes
        self.draw_ids = draw_ids
        self.hud = hud
        self.draw_skeleton = draw_skeleton
        self.draw_trails = draw_trails
        self.stats_provider = stats_provider
        ks = self.keypoint_set
        self._kpt_colors = [rgb_to_bgr(c) for c in ks.colors]
        self._link_colors = [rgb_to_bgr(ks.link_color(i)) for i in range(len(ks.skeleton))]

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Draw on a copy of ``packet.image`` (the original stays untouched)."""
        img = packet.image.copy()
        h, w = img.shape[:2]
        # Thickness follows the image size so overlays look alike at 480p and 4K.
        thick = max(1, int(round(min(h, w) / 320)))
        font_scale = max(0.4, min(h, w) / 900)
        poses = packet.poses
        trails = packet.meta.get("trails")
        if trails and self.draw_trails:
            self._trails(img, trails, thick)
        if poses is not None and len(poses):
            ids = poses.track_ids
            labels = []
            for i in range(len(poses)):
                tid = int(ids[i]) if ids is not None and ids[i] >= 0 else None
                if self.draw_boxes:
                    color = track_color(tid) if tid is not None else _BOX_COLOR
                    self._box(img, poses.boxes[i], color, thick)
                if self.draw_ids and tid is not None:
                    labels.append((f"#{tid}", poses.boxes[i], track_color(tid)))
                if self.draw_skeleton:
                    self._skeleton(img, poses.keypoints[i], poses.scores[i], thick)
            # Labels last, placed together, so that neither skeletons nor each other hide them.
            for text, rect, color in place_labels(labels, img.shape, font_scale, thick):
                self._draw_label(img, text, rect, color, font_scale, thick)
        elif self.draw_boxes and packet.detections is not None:
            for box in packet.detections.boxes:
                self._box(img, box, _BOX_COLOR, thick)
        if self.hud and self.stats_provider is not None:
            self._hud(img, self.stats_provider() or {}, font_scale, thick)
        packet.rendered = img
        return packet

    def _box(self, img: np.ndarray, box: np.ndarray, color: BGR, thick: int) -> None:
        cv2.rectangle(img, _fixed(box[0], box[1]), _fixed(box[2], box[3]), color, thick,
                      cv2.LINE_AA, _SHIFT)

    def _draw_label(self, img: np.ndarray, text: str, rect: tuple[int, int, int, int], color: BGR,
                    scale: float, thick: int) -> None:
        x1, y1, x2, y2 = rect
        base = cv2.getTextSize(text, _FONT, scale, thick)[1]
        cv2.rectangle(img, (x1, y1), (x2, y2), color, -1)
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 0), 1)  # an edge keeps touching labels apart
        cv2.putText(img, text, (x1 + 2, y2 - base), _FONT, scale, (0, 0, 0), thick, cv2.LINE_AA)

    def _skeleton(self, img: np.ndarray, kpts: np.ndarray, scores: np.ndarray, thick: int) -> None:
        ok = (scores > self.kpt_threshold) & np.isfinite(kpts).all(-1)  # a NaN must not crash drawing
        for (a, b), color in zip(self.keypoint_set.skeleton, self._link_colors):
            if ok[a] and ok[b]:
                cv2.line(img, _fixed(*kpts[a]), _fixed(*kpts[b]), color, thick, cv2.LINE_AA, _SHIFT)
        radius = (thick + 2) * _ONE
        for k in np.flatnonzero(ok):
            cv2.circle(img, _fixed(*kpts[k]), radius, self._kpt_colors[k], -1, cv2.LINE_AA, _SHIFT)

    def _trails(self, img: np.ndarray, trails: dict, thick: int) -> None:
        # Recent positions of each track (set by the tracker stage), oldest first.
        for tid, pts in trails.items():
            pts = np.asarray(pts, np.float32).reshape(-1, 2)
            if len(pts) >= 2 and np.isfinite(pts).all():
                poly = np.round(pts * _ONE).astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(img, [poly], False, track_color(int(tid)), max(2, thick), cv2.LINE_AA, _SHIFT)

    def _hud(self, img: np.ndarray, stats: dict, scale: float, thick: int) -> None:
        lines = []
        if stats.get("fps") is not None:
            lines.append(f"FPS {float(stats['fps']):.1f}")
        if stats.get("latency_ms") is not None:
            # end-to-end: from capture (live) or from reading the frame (file) to the output;
            # on a file read as fast as possible that is mostly queueing: say so.
            where = "" if stats.get("live", True) else " (file: queued)"
            lines.append(f"end-to-end {float(stats['latency_ms']):.0f} ms{where}")
        if stats.get("drops"):
            lines.append(f"dropped {int(stats['drops'])}")
        if stats.get("reconnects"):
            lines.append(f"reconnected {int(stats['reconnects'])}x")
        if not lines:
            return
        sizes = [cv2.getTextSize(t, _FONT, scale, thick) for t in lines]
        line_h = max(s[0][1] + s[1] for s in sizes) + 6
        x1 = min(img.shape[1], max(s[0][0] for s in sizes) + 16)
        y1 = min(img.shape[0], line_h * len(lines) + 8)
        # Darken the panel instead of covering it, so what is behind stays visible.
        img[:y1, :x1] = (img[:y1, :x1] * 0.35).astype(img.dtype)
        for j, text in enumerate(lines):
            cv2.putText(img, text, (8, 4 + line_h * (j + 1) - 6), _FONT, scale, (255, 255, 255),
                        thick, cv2.LINE_AA)
