"""Quality controls for pseudo-labels: thresholds, box sanity, teacher agreement, dedup."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class QCConfig:
    """Every threshold the labeler applies; defaults suit the MoveNet/RTMDet teachers."""

    box_score: float = 0.5  # detector boxes below this are rejected (official boxes score 1)
    proposal_score: float = 0.2  # detector boxes below this are not even proposed
    min_box_size: float = 32.0  # px: the longer side of a box must reach this
    min_box_area: float = 32.0 * 32.0 * 2
    aspect_range: tuple[float, float] = (0.15, 3.0)  # box w / h
    min_inside: float = 0.8  # fraction of the box area that must lie inside the image
    mean_kpt_score: float = 0.35  # mean keypoint score of the main teacher (all K points)
    kpt_score: float = 0.3  # per keypoint: v=2 above, else v=0
    min_keypoints: int = 5  # accepted (v=2) keypoints a person needs to be kept
    agreement_oks: float = 0.7  # OKS between main teacher and second teacher / flip
    disagree_k: float = 3.0  # a keypoint whose teachers are > k * sigma * sqrt(area) apart gets v=0
    min_inside_box: float = 0.6  # accepted keypoints inside the (1.25x) box: else it is another person
    duplicate_oks: float = 0.85  # two persons of one image this similar: keep the better one
    max_persons: int = 30  # detector proposals per image (best first)


REASONS = ("low_box_score", "small_box", "bad_aspect", "outside_image", "low_pose_score",
           "teacher_disagreement", "flip_disagreement", "few_keypoints", "keypoints_outside_box",
           "duplicate_pose")


def box_sanity(boxes: np.ndarray, image_size: tuple[int, int], cfg: QCConfig) -> list[str | None]:
    """Per box [N,4] xyxy: None when sane, else the rejection reason."""
    w_img, h_img = image_size
    out: list[str | None] = []
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            out.append("small_box")
            continue
        ix = max(0.0, min(x2, w_img) - max(x1, 0.0))
        iy = max(0.0, min(y2, h_img) - max(y1, 0.0))
        if max(w, h) < cfg.min_box_size or w * h < cfg.min_box_area:
            out.append("small_box")
        elif not cfg.aspect_range[0] <= w / h <= cfg.aspect_range[1]:
            out.append("bad_aspect")
        elif ix * iy < cfg.min_inside * w * h:
            out.append("outside_image")
        else:
            out.append(None)
    return out


def oks_pair(a: np.ndarray, b: np.ndarray, mask: np.ndarray, area: float, sigmas: np.ndarray) -> float:
    """COCO OKS between two skeletons [K,2] over the keypoints in ``mask`` [K] (0 if none)."""
    if not mask.any():
        return 0.0
    d2 = ((a - b) ** 2).sum(-1)
    k2 = (2.0 * sigmas) ** 2
    e = np.exp(-d2 / (2.0 * max(float(area), 1.0) * k2))
    return float(e[mask].mean())


def keypoint_disagreement(a: np.ndarray, b: np.ndarray, area: float, sigmas: np.ndarray, k: float) -> np.ndarray:
    """[K] bool: the two predictions are more than ``k * sigma * sqrt(area)`` apart."""
    d = np.sqrt(((a - b) ** 2).sum(-1))
    return d > k * sigmas * np.sqrt(max(float(area), 1.0))


def points_inside_box(kpts: np.ndarray, box: np.ndarray, padding: float = 1.25) -> np.ndarray:
    """[K] bool: keypoints inside the box enlarged by ``padding`` about its centre."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) * padding / 2, (box[3] - box[1]) * padding / 2
    return (np.abs(kpts[:, 0] - cx) <= hw) & (np.abs(kpts[:, 1] - cy) <= hh)


class FrameDeduper:
    """Keeps a video frame only if it differs enough from the last kept one.

    The difference is the mean absolute difference of small grayscale thumbnails (0-255
    scale): cheap, and blind to sensor noise and compression, which a hash of the pixels
    is not.
    """

    def __init__(self, threshold: float = 2.0, thumb: tuple[int, int] = (32, 32)) -> None:
        self.threshold = float(threshold)
        self.thumb = thumb
        self._last: np.ndarray | None = None
        self.dropped = 0

    def reset(self) -> None:
        """Forget the last kept frame (call between videos)."""
        self._last = None

    def difference(self, image: np.ndarray) -> float:
        """Mean absolute thumbnail difference to the last kept frame (inf when none)."""
        t = self._thumb(image)
        return float("inf") if self._last is None else float(np.abs(t - self._last).mean())

    def _thumb(self, image: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        return cv2.resize(gray, self.thumb, interpolation=cv2.INTER_AREA).astype(np.float32)

    def keep(self, image: np.ndarray) -> bool:
        """True (and remember the frame) when it differs enough from the last kept one."""
        t = self._thumb(image)
        if self._last is not None and float(np.abs(t - self._last).mean()) < self.threshold:
            self.dropped += 1
            return False
        self._last = t
        return True
