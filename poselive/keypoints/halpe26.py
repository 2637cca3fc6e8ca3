"""Halpe-26 body keypoints: COCO-17 plus head, neck, hip centre and six foot points."""

from poselive.keypoints import KeypointSet, pairs_by_prefix
from poselive.keypoints.coco17 import KEYPOINT_SET as _COCO

_NAMES = _COCO.names + (
    "head", "neck", "hip",
    "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
    "left_heel", "right_heel",
)
_CENTRE, _LEFT, _RIGHT = (80, 160, 255), (40, 220, 90), (255, 140, 20)


def _side(name: str):
    if name.startswith("left_"):
        return _LEFT
    if name.startswith("right_"):
        return _RIGHT
    return _CENTRE


def _i(name: str) -> int:
    return _NAMES.index(name)


_LINKS = (
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("left_hip", "hip"),
    ("right_ankle", "right_knee"), ("right_knee", "right_hip"), ("right_hip", "hip"),
    ("head", "neck"), ("neck", "hip"),
    ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"),
    ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
    ("left_ankle", "left_big_toe"), ("left_ankle", "left_small_toe"), ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"), ("right_ankle", "right_small_toe"), ("right_ankle", "right_heel"),
)


def _link_colour(a: str, b: str):
    sides = {_side(a), _side(b)}
    return sides.pop() if len(sides) == 1 else (_LEFT if _LEFT in sides else _RIGHT)


KEYPOINT_SET = KeypointSet(
    name="halpe26",
    names=_NAMES,
    skeleton=tuple((_i(a), _i(b)) for a, b in _LINKS),
    flip_pairs=pairs_by_prefix(_NAMES),
    # Halpe-FullBody evaluation sigmas: COCO's 17, then head, neck, hip, and the feet.
    sigmas=_COCO.sigmas + (0.026, 0.026, 0.066, 0.079, 0.079, 0.079, 0.079, 0.079, 0.079),
    colors=tuple(_side(n) for n in _NAMES),
    link_colors=tuple(_link_colour(a, b) for a, b in _LINKS),
)
