"""Per-person records built from a packet's poses, shared by the JSONL and CSV sinks."""

from __future__ import annotations

import math
from typing import Any

from poselive.types import FramePacket

PIXEL_DECIMALS = 2
SCORE_DECIMALS = 4
TIME_DECIMALS = 6


def rounded(value: float, decimals: int) -> float | None:
    """value rounded to decimals, or None (JSON null, empty CSV cell) when not finite."""
    value = float(value)
    return round(value, decimals) if math.isfinite(value) else None


def person_records(packet: FramePacket) -> list[dict[str, Any]]:
    """One dict per person: id (None when untracked), box, score, keypoints [[x, y, s]]."""
    poses = packet.poses
    if poses is None or len(poses) == 0:
        return []
    kpts = poses.keypoints.tolist()
    kscores = poses.scores.tolist()
    boxes = poses.boxes.tolist()
    box_scores = poses.box_scores.tolist()
    ids = poses.track_ids.tolist() if poses.track_ids is not None else [None] * len(poses)
    persons = []
    for i in range(len(poses)):
        tid = ids[i]
        persons.append(
            {
                # Negative IDs mark tracks not yet confirmed: written as null.
                "id": int(tid) if tid is not None and tid >= 0 else None,
                "box": [rounded(v, PIXEL_DECIMALS) for v in boxes[i]],
                "score": rounded(box_scores[i], SCORE_DECIMALS),
                # NaN/inf (a failed estimate) become null rather than invalid JSON.
                "keypoints": [
                    [rounded(x, PIXEL_DECIMALS), rounded(y, PIXEL_DECIMALS), rounded(s, SCORE_DECIMALS)]
                    for (x, y), s in zip(kpts[i], kscores[i])
                ],
            }
        )
    return persons
