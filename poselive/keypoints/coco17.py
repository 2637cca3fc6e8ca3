"""COCO-17 person keypoints."""

from poselive.keypoints import KeypointSet, pairs_by_prefix

_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_FACE, _LEFT, _RIGHT = (80, 160, 255), (40, 220, 90), (255, 140, 20)


def _side(name: str):
    if name.startswith("left_") and "eye" not in name and "ear" not in name:
        return _LEFT
    if name.startswith("right_") and "eye" not in name and "ear" not in name:
        return _RIGHT
    return _FACE


_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

KEYPOINT_SET = KeypointSet(
    name="coco17",
    names=_NAMES,
    skeleton=_SKELETON,
    flip_pairs=pairs_by_prefix(_NAMES),
    # Per-keypoint OKS sigmas published with the COCO keypoint evaluation.
    sigmas=(0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
            0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089),
    colors=tuple(_side(n) for n in _NAMES),
    link_colors=tuple(
        _FACE if a < 5 and b < 5 else
        _LEFT if a % 2 == 1 and b % 2 == 1 and max(a, b) > 4 else
        _RIGHT if a % 2 == 0 and b % 2 == 0 and min(a, b) > 4 else _FACE
        for a, b in _SKELETON
    ),
)
