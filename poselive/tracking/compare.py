"""Compare the poses of two runs on the same video (e.g. detection interval 5 against 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poselive.errors import ConfigError
from poselive.keypoints import get_keypoint_set
from poselive.tracking.assignment import linear_assignment
from poselive.tracking.oks import oks_matrix


@dataclass
class RunComparison:
    """How closely run B's poses follow run A's, frame by frame."""

    mean_oks: float  # over matched person pairs
    matched: int  # person pairs matched (OKS > min_oks)
    only_in_a: int  # persons of A with no partner in B
    only_in_b: int
    frames: int  # frames present in both runs


def read_pose_jsonl(path: str | Path) -> dict[int, list[dict]]:
    """Frame index -> persons of a poselive JSONL file (header and other lines skipped)."""
    frames: dict[int, list[dict]] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{n} is not JSON ({exc}); is it a poselive JSONL output?") from exc
                if isinstance(rec, dict) and "frame" in rec and "persons" in rec:
                    frames[int(rec["frame"])] = rec["persons"] or []
    except OSError as exc:
        raise ConfigError(f"cannot read pose file {path}: {exc}") from exc
    return frames


def _arrays(persons: list[dict], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kp = np.zeros((len(persons), k, 3), np.float32)
    boxes = np.zeros((len(persons), 4), np.float32)
    for i, p in enumerate(persons):
        kp[i] = np.asarray(p["keypoints"], np.float32).reshape(k, -1)[:, :3]
        boxes[i] = np.asarray(p["box"], np.float32).reshape(4)
    return kp[..., :2], kp[..., 2], boxes


def compare_runs(jsonl_a: str | Path, jsonl_b: str | Path, keypoint_set: str = "coco17",
                 score_threshold: float = 0.3, min_oks: float = 0.1) -> RunComparison:
    """Match persons of two runs per frame (Hungarian on OKS) and summarise their OKS.

    Run A is the reference: a keypoint counts if its score in A exceeds ``score_threshold``
    (and in B, if B scores it too), and the OKS scale is A's box area times 0.53 (the usual
    ratio of a COCO person's segmented area to its box).
    """
    kset = get_keypoint_set(keypoint_set)
    sig, k = kset.sigmas_array(), kset.num_keypoints
    a, b = read_pose_jsonl(jsonl_a), read_pose_jsonl(jsonl_b)
    common = sorted(set(a) & set(b))
    total, matched, only_a, only_b = 0.0, 0, 0, 0
    for f in common:
        ka, sa, ba = _arrays(a[f], k)
        kb, sb, _ = _arrays(b[f], k)
        if len(ka) == 0 or len(kb) == 0:
            only_a += len(ka)
            only_b += len(kb)
            continue
        areas = 0.53 * (ba[:, 2] - ba[:, 0]).clip(1) * (ba[:, 3] - ba[:, 1]).clip(1)
        # B's scores only gate keypoints B reports at all; its low scores still count.
        oks, _ = oks_matrix(ka, sa, kb, np.where(sb > 0, 1.0, 0.0), areas, sig, score_threshold, 1)
        pairs, ua, ub = linear_assignment(1.0 - oks, 1.0 - min_oks)
        total += float(oks[pairs[:, 0], pairs[:, 1]].sum())
        matched += len(pairs)
        only_a += len(ua)
        only_b += len(ub)
    return RunComparison(total / matched if matched else 0.0, matched, only_a, only_b, len(common))


def mean_oks_between_runs(jsonl_a: str | Path, jsonl_b: str | Path, keypoint_set: str = "coco17") -> float:
    """Mean OKS between the matched persons of two JSONL pose outputs (A is the reference)."""
    return compare_runs(jsonl_a, jsonl_b, keypoint_set).mean_oks
