"""`poselive report poses.jsonl --out DIR`: plots of a run's JSONL as PNG files.

- ``persons.png``: persons per frame, and how many of them carry a track ID;
- ``tracks.png``: one bar per track ID over the frames where it was seen;
- ``confidence.png``: mean keypoint confidence per keypoint over time (a heat strip per
  keypoint) and the mean over all keypoints as a line.

Drawn with OpenCV only (a runtime dependency already), so the plots need no extra install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from poselive.errors import ConfigError

_FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (30, 30, 30), (120, 120, 120), (225, 225, 225)
BLUE, ORANGE = (180, 119, 31), (14, 127, 255)  # BGR


class Axes:
    """A plot area on a white canvas mapping data (x, y) to pixels, with ticks and labels."""

    def __init__(self, img: np.ndarray, rect: tuple[int, int, int, int], xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:
        self.img, self.rect = img, rect
        self.x0, self.x1 = xlim if xlim[1] > xlim[0] else (xlim[0], xlim[0] + 1)
        self.y0, self.y1 = ylim if ylim[1] > ylim[0] else (ylim[0], ylim[0] + 1)

    def px(self, x: float | np.ndarray, y: float | np.ndarray) -> tuple[Any, Any]:
        """Data coordinates to pixel coordinates."""
        l, t, r, b = self.rect
        u = l + (np.asarray(x, float) - self.x0) / (self.x1 - self.x0) * (r - l)
        v = b - (np.asarray(y, float) - self.y0) / (self.y1 - self.y0) * (b - t)
        return u, v

    def frame(self, xlabel: str, ylabel: str, title: str, yticks: list[tuple[float, str]] | None = None) -> None:
        """Axes box, grid, tick labels, axis labels and a title."""
        l, t, r, b = self.rect
        for x in _ticks(self.x0, self.x1):
            u, _ = self.px(x, self.y0)
            cv2.line(self.img, (int(u), t), (int(u), b), LIGHT, 1)
            _text(self.img, _fmt(x), (int(u), b + 18), center=True)
        for y, label in yticks or [(y, _fmt(y)) for y in _ticks(self.y0, self.y1)]:
            _, v = self.px(self.x0, y)
            cv2.line(self.img, (l, int(v)), (r, int(v)), LIGHT, 1)
            _text(self.img, label, (l - 6, int(v) + 5), right=True)
        cv2.rectangle(self.img, (l, t), (r, b), GREY, 1)
        _text(self.img, xlabel, ((l + r) // 2, b + 40), center=True)
        _text(self.img, ylabel, (l, t - 10))
        _text(self.img, title, ((l + r) // 2, 26), scale=0.65, center=True, thick=2)

    def line(self, x: np.ndarray, y: np.ndarray, color: tuple[int, int, int], thick: int = 2) -> None:
        """A polyline through the points (NaN breaks the line)."""
        u, v = self.px(x, y)
        ok = np.isfinite(v)
        pts = np.stack([u, v], -1)
        start = None
        for i in range(len(pts) + 1):
            if i < len(pts) and ok[i]:
                start = i if start is None else start
                continue
            if start is not None and i - start >= 1:
                seg = np.round(pts[start:i]).astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(self.img, [seg], False, color, thick, cv2.LINE_AA)
            start = None


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """About ``n`` round tick values from lo to hi."""
    span = hi - lo
    raw = span / max(1, n)
    mag = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=raw)
    first = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-6, step)]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-6 else f"{v:.1f}"


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, color=BLACK,
          thick: int = 1, center: bool = False, right: bool = False) -> None:
    (w, _), _ = cv2.getTextSize(text, _FONT, scale, thick)
    x = org[0] - w // 2 if center else org[0] - w if right else org[0]
    cv2.putText(img, text, (int(x), int(org[1])), _FONT, scale, color, thick, cv2.LINE_AA)


def _legend(img: np.ndarray, items: list[tuple[str, tuple[int, int, int]]], org: tuple[int, int]) -> None:
    """Line samples and labels side by side, starting at ``org``."""
    x, y = org
    for label, color in items:
        cv2.line(img, (x, y - 4), (x + 24, y - 4), color, 3, cv2.LINE_AA)
        _text(img, label, (x + 30, y))
        x += 30 + cv2.getTextSize(label, _FONT, 0.45, 1)[0][0] + 30


def _canvas(w: int, h: int) -> np.ndarray:
    return np.full((h, w, 3), 255, np.uint8)


def load(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The JSONL's header and frames; one clear error if it is not a poselive JSONL."""
    from poselive.sinks import read_jsonl

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such file: {path}; pass the JSONL that poselive process --json wrote")
    header, frames = read_jsonl(path)
    if "keypoint_names" not in header:
        raise ConfigError(f"{path} has no poselive header line; pass a file written by poselive process --json")
    if not frames:
        raise ConfigError(f"{path} holds no frames")
    return header, frames


def plot_persons(frames: list[dict], out: Path) -> Path:
    """Persons per frame, and how many of them have a track ID."""
    idx = np.array([f["frame"] for f in frames], float)
    n = np.array([len(f["persons"]) for f in frames], float)
    tracked = np.array([sum(p.get("id") is not None for p in f["persons"]) for f in frames], float)
    img = _canvas(960, 440)
    ax = Axes(img, (70, 50, 930, 350), (idx.min(), idx.max()), (0, max(1.0, n.max()) * 1.1))
    ax.frame("frame", "persons", "Persons per frame")
    ax.line(idx, n, BLUE)
    ax.line(idx, tracked, ORANGE, 1)
    _legend(img, [(f"detected (mean {n.mean():.1f})", BLUE),
                  (f"with a track ID ({100 * tracked.sum() / max(1, n.sum()):.0f} %)", ORANGE)], (70, 425))
    path = out / "persons.png"
    cv2.imwrite(str(path), img)
    return path


def _track_color(tid: int) -> tuple[int, int, int]:
    from poselive.stages.render import track_color

    return track_color(tid)


def plot_tracks(frames: list[dict], out: Path, max_tracks: int = 60) -> Path:
    """One horizontal bar per track over the frames where it was seen (the longest tracks
    when there are more than ``max_tracks``)."""
    seen: dict[int, list[int]] = {}
    for f in frames:
        for p in f["persons"]:
            if p.get("id") is not None:
                seen.setdefault(int(p["id"]), []).append(int(f["frame"]))
    tracks = sorted(seen, key=lambda t: -len(seen[t]))[:max_tracks]
    tracks.sort(key=lambda t: seen[t][0])
    rows = max(1, len(tracks))
    row_h = max(6, min(18, 500 // rows))
    h = 110 + rows * row_h
    img = _canvas(960, h)
    first, last = frames[0]["frame"], frames[-1]["frame"]
    ax = Axes(img, (70, 50, 930, 50 + rows * row_h), (first, last + 1), (0, rows))
    step = max(1, rows // 12)
    yticks = [(rows - i - 0.5, f"#{t}") for i, t in enumerate(tracks) if i % step == 0]
    shown = f" (the {max_tracks} longest of {len(seen)})" if len(seen) > max_tracks else ""
    ax.frame("frame", "track", f"Track timelines: {len(seen)} IDs{shown}", yticks=yticks)
    for i, t in enumerate(tracks):
        fs = np.array(seen[t])
        # contiguous runs become bars; a gap means the track was lost for those frames
        breaks = np.flatnonzero(np.diff(fs) > 1)
        starts = np.r_[fs[0], fs[breaks + 1]]
        ends = np.r_[fs[breaks], fs[-1]]
        for s, e in zip(starts, ends):
            u0, v0 = ax.px(s, rows - i - 0.9)
            u1, v1 = ax.px(e + 1, rows - i - 0.1)
            cv2.rectangle(img, (int(u0), int(v1)), (max(int(u0) + 1, int(u1)), int(v0)), _track_color(t), -1)
    if not seen:
        _text(img, "no track IDs in this file (run without --no-track)", (300, 50 + row_h // 2 + 5))
    path = out / "tracks.png"
    cv2.imwrite(str(path), img)
    return path


def plot_confidence(header: dict, frames: list[dict], out: Path) -> Path:
    """Mean confidence of each keypoint per frame (a strip per keypoint, dark = low), and
    the mean over all keypoints as a line below."""
    names = header["keypoint_names"]
    k = len(names)
    idx = np.array([f["frame"] for f in frames], float)
    grid = np.full((k, len(frames)), np.nan, np.float32)
    for j, f in enumerate(frames):
        if f["persons"]:
            s = np.array([[kp[2] for kp in p["keypoints"]] for p in f["persons"]], np.float32)
            grid[:, j] = s.mean(0)
    left, right, top = 130, 930, 50
    strip_h = 16
    img = _canvas(960, top + k * strip_h + 300)
    _text(img, "Keypoint confidence over time", (530, 26), scale=0.65, center=True, thick=2)
    heat = np.nan_to_num(grid, nan=0.0)
    heat = cv2.resize((heat * 255).astype(np.uint8), (right - left, k * strip_h), interpolation=cv2.INTER_NEAREST)
    img[top:top + k * strip_h, left:right] = cv2.applyColorMap(heat, cv2.COLORMAP_VIRIDIS)
    for i, name in enumerate(names):
        _text(img, name, (left - 6, top + i * strip_h + strip_h - 4), scale=0.4, right=True)
    cv2.rectangle(img, (left, top), (right, top + k * strip_h), GREY, 1)
    # colour scale
    bar = cv2.applyColorMap(np.linspace(0, 255, 200).astype(np.uint8)[None].repeat(10, 0), cv2.COLORMAP_VIRIDIS)
    y = top + k * strip_h + 10
    img[y:y + 10, right - 200:right] = bar
    _text(img, "confidence 0", (right - 206, y + 9), scale=0.4, right=True)
    _text(img, "1", (right + 4, y + 9), scale=0.4)
    mean = np.nanmean(grid, axis=0) if np.isfinite(grid).any() else np.full(len(frames), np.nan)
    t2 = y + 50
    ax = Axes(img, (left, t2, right, t2 + 190), (idx.min(), idx.max()), (0, 1))
    ax.frame("frame", "mean keypoint confidence", "")
    ax.line(idx, mean, BLUE)
    path = out / "confidence.png"
    cv2.imwrite(str(path), img)
    return path


def write_report(jsonl: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the three plots of ``jsonl`` into ``out_dir``; returns their paths."""
    import warnings

    header, frames = load(jsonl)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of frames without persons
        return [plot_persons(frames, out), plot_tracks(frames, out), plot_confidence(header, frames, out)]
