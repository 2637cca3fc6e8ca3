"""Pseudo-labels of one image from teacher models, with every quality control applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poselive.errors import ConfigError
from poselive.flip import flip_keypoints
from poselive.keypoints import KeypointSet, get_keypoint_set
from poselive.labeling.qc import (QCConfig, box_sanity, keypoint_disagreement, oks_pair,
                                  points_inside_box)


@dataclass
class PersonLabel:
    """One proposed person: its box, the main teacher's keypoints, and the QC verdict."""

    box: np.ndarray  # [4] xyxy original px
    box_score: float
    box_source: str  # "detector" or "official"
    keypoints: np.ndarray | None = None  # [K,2] original px (main teacher)
    scores: np.ndarray | None = None  # [K]
    visible: np.ndarray | None = None  # [K] bool: v=2 in the output
    agreement: dict[str, float] = field(default_factory=dict)  # check name -> OKS
    reason: str | None = None  # None when accepted

    @property
    def accepted(self) -> bool:
        return self.reason is None

    @property
    def score(self) -> float:
        """Box score times the mean score of the accepted keypoints."""
        if self.scores is None or self.visible is None or not self.visible.any():
            return 0.0
        return float(self.box_score * self.scores[self.visible].mean())


class Labeler:
    """Runs a detector (unless boxes are given) and pose teachers on an image; applies QC.

    ``detector`` has ``detect(image) -> Detections``; ``pose`` and ``pose2`` have
    ``estimate(image, boxes) -> (keypoints [N,K,2], scores [N,K])`` (the stage adapters,
    see ``from_engines``). ``pose2`` is a second teacher for agreement; ``flip_check``
    runs ``pose`` on the mirrored image and compares the un-mirrored result.
    """

    def __init__(self, detector: Any, pose: Any, pose2: Any = None, flip_check: bool = False,
                 qc: QCConfig | None = None, keypoint_set: KeypointSet | str = "coco17") -> None:
        self.detector = detector
        self.pose = pose
        self.pose2 = pose2
        self.flip_check = bool(flip_check)
        self.qc = qc or QCConfig()
        self.kset = get_keypoint_set(keypoint_set) if isinstance(keypoint_set, str) else keypoint_set
        self.sigmas = self.kset.sigmas_array()

    @classmethod
    def from_engines(cls, det_engine: Any, pose_engine: Any, pose2_engine: Any = None, **kw: Any) -> "Labeler":
        """A labeler over engines, with the pipeline's adapters chosen automatically."""
        from poselive.stages.adapters import build_detector_adapter, build_pose_adapter

        qc = kw.get("qc") or QCConfig()
        det = None
        if det_engine is not None:
            det = build_detector_adapter(det_engine, score_threshold=min(qc.proposal_score, qc.box_score))
        pose2 = build_pose_adapter(pose2_engine) if pose2_engine is not None else None
        pose = build_pose_adapter(pose_engine) if pose_engine is not None else None  # None: boxes only
        return cls(det, pose, pose2, **kw)

    def propose(self, image: np.ndarray, boxes: np.ndarray | None) -> list[PersonLabel]:
        """Person boxes without keypoints: ``boxes`` (official) if given, else the detector's
        proposals above ``qc.proposal_score``, best first."""
        if boxes is not None:
            return [PersonLabel(np.asarray(b, np.float32), 1.0, "official") for b in boxes]
        if self.detector is None:
            raise ConfigError("no person boxes for this image and no detector; give --det")
        dets = self.detector.detect(image)
        keep = dets.scores >= self.qc.proposal_score
        order = np.argsort(-dets.scores[keep], kind="stable")
        return [PersonLabel(b.astype(np.float32), float(s), "detector")
                for b, s in zip(dets.boxes[keep][order], dets.scores[keep][order])]

    def label(self, image: np.ndarray, boxes: np.ndarray | None = None) -> list[PersonLabel]:
        """Every proposed person of a BGR image, accepted or with its rejection reason.

        ``boxes`` [N,4] xyxy (official labels) replace the detector's proposals.
        """
        qc = self.qc
        h, w = image.shape[:2]
        persons = self.propose(image, boxes)
        if boxes is None:  # detector proposals are best first; official boxes are all kept
            persons = persons[: qc.max_persons]
        sane = box_sanity(np.array([p.box for p in persons]).reshape(-1, 4), (w, h), qc)
        for p, why in zip(persons, sane):
            if p.box_score < qc.box_score:
                p.reason = "low_box_score"
            elif why is not None:
                p.reason = why
        alive = [p for p in persons if p.accepted]
        if not alive:
            return persons
        bx = np.stack([p.box for p in alive])
        kpts, scores = self.pose.estimate(image, bx)
        others: list[tuple[str, str, np.ndarray]] = []
        if self.pose2 is not None:
            others.append(("teacher", "teacher_disagreement", self.pose2.estimate(image, bx)[0]))
        if self.flip_check:
            mirrored = np.ascontiguousarray(image[:, ::-1])
            fbx = bx.copy()
            fbx[:, 0], fbx[:, 2] = w - bx[:, 2], w - bx[:, 0]
            fk, fs = self.pose.estimate(mirrored, fbx)
            others.append(("flip", "flip_disagreement", flip_keypoints(fk, w, self.kset, fs)[0]))
        for i, p in enumerate(alive):
            p.keypoints = np.asarray(kpts[i], np.float32)
            p.scores = np.asarray(scores[i], np.float32)
            p.visible = p.scores >= qc.kpt_score
            self._check(p, [(name, why, o[i]) for name, why, o in others])
        self._drop_duplicates([p for p in alive if p.accepted])
        return persons

    def _check(self, p: PersonLabel, others: list[tuple[str, str, np.ndarray]]) -> None:
        qc = self.qc
        if float(p.scores.mean()) < qc.mean_kpt_score:
            p.reason = "low_pose_score"
            return
        area = float((p.box[2] - p.box[0]) * (p.box[3] - p.box[1]))
        visible = p.visible.copy()
        for name, why, other in others:
            oks = oks_pair(p.keypoints, other, visible, area, self.sigmas)
            p.agreement[name] = round(oks, 4)
            if oks < qc.agreement_oks:
                p.reason = why
                return
            visible &= ~keypoint_disagreement(p.keypoints, other, area, self.sigmas, qc.disagree_k)
        if visible.any() and points_inside_box(p.keypoints[visible], p.box).mean() < qc.min_inside_box:
            p.reason = "keypoints_outside_box"
            return
        p.visible = visible
        if int(visible.sum()) < qc.min_keypoints:
            p.reason = "few_keypoints"

    def _drop_duplicates(self, accepted: list[PersonLabel]) -> None:
        # Single-person teachers on overlapping boxes often lock onto the same person.
        accepted = sorted(accepted, key=lambda p: -p.score)
        kept: list[PersonLabel] = []
        for p in accepted:
            area = float((p.box[2] - p.box[0]) * (p.box[3] - p.box[1]))
            for q in kept:
                mask = p.visible & q.visible
                similar = oks_pair(p.keypoints, q.keypoints, mask, area, self.sigmas)
                if mask.sum() >= 3 and similar > self.qc.duplicate_oks:
                    p.reason = "duplicate_pose"
                    break
            else:
                kept.append(p)
