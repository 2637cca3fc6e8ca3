"""CLEAR-MOT and identity metrics (MOTA, IDF1, ID switches) of a tracker on a sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from poselive.errors import require
from poselive.geometry import box_iou


@dataclass
class TrackingScores:
    """Summary metrics of one or more sequences."""

    mota: float
    idf1: float
    id_switches: int
    num_frames: int
    num_gt: int
    false_positives: int
    misses: int

    def as_dict(self) -> dict:
        """Plain dict for printing or JSON."""
        return dict(self.__dict__)


@dataclass
class FrameResult:
    """Ground truth and tracker output of one frame, as the metrics need them."""

    gt_ids: np.ndarray  # [G]
    gt_boxes: np.ndarray  # [G, 4] xyxy
    hyp_ids: np.ndarray  # [H] (only confirmed tracks, no -1)
    hyp_boxes: np.ndarray  # [H, 4] xyxy


def mot_scores(sequences: Iterable[Iterable[FrameResult]], iou_threshold: float = 0.5) -> TrackingScores:
    """MOTA, IDF1 and ID switches over sequences of frames (motmetrics, IoU matching)."""
    mm = require("motmetrics", "test", "tracking metrics")
    accs = []
    for seq in sequences:
        acc = mm.MOTAccumulator(auto_id=True)
        for fr in seq:
            iou = box_iou(fr.gt_boxes, fr.hyp_boxes)
            dist = np.where(iou >= iou_threshold, 1.0 - iou, np.nan)
            acc.update(list(map(int, fr.gt_ids)), list(map(int, fr.hyp_ids)), dist)
        accs.append(acc)
    mh = mm.metrics.create()
    names = [str(i) for i in range(len(accs))]
    summary = mh.compute_many(accs, names=names,
                              metrics=["mota", "idf1", "num_switches", "num_frames",
                                       "num_objects", "num_false_positives", "num_misses"],
                              generate_overall=True)
    row = summary.loc["OVERALL"]
    return TrackingScores(float(row["mota"]), float(row["idf1"]), int(row["num_switches"]),
                          int(row["num_frames"]), int(row["num_objects"]),
                          int(row["num_false_positives"]), int(row["num_misses"]))


def run_tracker_on(frames, make_tracker: Callable[[], object], use_keypoints: bool = True,
                   image_size: tuple[int, int] | None = None) -> list[FrameResult]:
    """Run a fresh tracker over simulated frames (``SimFrame``-like) and collect its output."""
    tracker = make_tracker()
    if image_size is not None and getattr(tracker, "image_size", "absent") is None:
        tracker.image_size = image_size
    out = []
    for fr in frames:
        kp = fr.keypoints if use_keypoints else None
        ks = fr.keypoint_scores if use_keypoints else None
        ids = tracker.update(fr.boxes, fr.scores, kp, ks, fr.t)
        keep = ids >= 0
        out.append(FrameResult(fr.gt_ids, fr.gt_boxes, ids[keep], fr.boxes[keep]))
    return out


@dataclass
class AnnotatedFrame:
    """One real annotated frame: ground-truth people with track IDs, and detector output."""

    name: str
    image_size: tuple[int, int]
    gt_ids: np.ndarray  # [G]
    gt_boxes: np.ndarray  # [G, 4] xyxy
    gt_keypoints: np.ndarray  # [G, K, 2]
    gt_visible: np.ndarray  # [G, K]
    det_boxes: np.ndarray  # [D, 4] xyxy, outside the ignore regions (or on a person)
    det_scores: np.ndarray  # [D]


def load_posetrack_frames(annotations: str, detections: str) -> list[AnnotatedFrame]:
    """PoseTrack18 annotated frames (COCO-style json with track_id) and their detections.

    Detections whose centre lies in an annotated ignore region (unlabelled crowds) are
    dropped unless they overlap a labelled person (IoU >= 0.5), as the PoseTrack
    evaluation ignores predictions there.
    """
    import json

    import cv2

    with open(annotations, encoding="utf-8") as fh:
        gt = json.load(fh)
    with open(detections, encoding="utf-8") as fh:
        dets = json.load(fh)
    out = []
    for im in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
        d = [x for x in dets if x["image_id"] == im["id"]]
        w, h = int(im["width"]), int(im["height"])
        b = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
        b[:, 2:] += b[:, :2]
        k = np.array([a["keypoints"] for a in anns], np.float32).reshape(len(anns), -1, 3)
        db = np.array([x["bbox"] for x in d], np.float32).reshape(-1, 4)
        db[:, 2:] += db[:, :2]
        ds = np.array([x["score"] for x in d], np.float32)
        ignore = np.zeros((h, w), np.uint8)
        for xs, ys in zip(im.get("ignore_regions_x", []), im.get("ignore_regions_y", [])):
            if len(xs) > 2:
                cv2.fillPoly(ignore, [np.array(list(zip(xs, ys)), np.int32)], 1)
        c = ((db[:, :2] + db[:, 2:]) / 2).astype(int).clip(0, [w - 1, h - 1])
        on_person = box_iou(db, b).max(1, initial=0) >= 0.5
        keep = on_person | (ignore[c[:, 1], c[:, 0]] == 0)
        out.append(AnnotatedFrame(str(im.get("vid_id", im["id"])), (w, h),
                                  np.array([a["track_id"] for a in anns], np.int64), b,
                                  k[..., :2], k[..., 2], db[keep], ds[keep]))
    return out
