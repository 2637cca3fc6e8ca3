"""AP-10K animal keypoints (17 points, quadrupeds)."""

from poselive.keypoints import KeypointSet, pairs_by_prefix

_NAMES = (
    "left_eye", "right_eye", "nose", "neck", "root_of_tail",
    "left_shoulder", "left_elbow", "left_front_paw",
    "right_shoulder", "right_elbow", "right_front_paw",
    "left_hip", "left_knee", "left_back_paw",
    "right_hip", "right_knee", "right_back_paw",
)
_HEAD, _BODY, _LEFT, _RIGHT = (80, 160, 255), (0, 200, 120), (40, 220, 220), (255, 140, 20)


def _i(name: str) -> int:
    return _NAMES.index(name)


def _side(name: str):
    if name.startswith("left_") and "eye" not in name:
        return _LEFT
    if name.startswith("right_") and "eye" not in name:
        return _RIGHT
    return _HEAD if name in ("left_eye", "right_eye", "nose") else _BODY


_LINKS = (
    ("left_eye", "right_eye"), ("left_eye", "nose"), ("right_eye", "nose"),
    ("nose", "neck"), ("neck", "root_of_tail"),
    ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_front_paw"),
    ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_front_paw"),
    ("root_of_tail", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_back_paw"),
    ("root_of_tail", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_back_paw"),
)

KEYPOINT_SET = KeypointSet(
    name="ap10k",
    names=_NAMES,
    skeleton=tuple((_i(a), _i(b)) for a, b in _LINKS),
    flip_pairs=pairs_by_prefix(_NAMES),
    # AP-10K publishes no sigmas of its own; its evaluation uses COCO's list copied in index
    # order (so e.g. the two shoulders differ). Kept as published so that AP matches theirs.
    sigmas=(0.025, 0.025, 0.026, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062,
            0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089),
    colors=tuple(_side(n) for n in _NAMES),
    link_colors=tuple(_side(b) for _, b in _LINKS),
)
