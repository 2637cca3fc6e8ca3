"""Halpe-26 body keypoints: COCO-17 plus head, neck, hip centre and six foot points."""

from poselive.keypoints import named_set
from poselive.keypoints.coco17 import KEYPOINT_SET as _COCO

_NAMES = _COCO.names + (
    "head", "neck", "hip",
    "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
    "left_heel", "right_heel",
)


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


KEYPOINT_SET = named_set(
    "halpe26", _NAMES, _LINKS,
    # Halpe-FullBody evaluation sigmas: COCO's 17, then head, neck, hip, and the feet.
    sigmas=_COCO.sigmas + (0.026, 0.026, 0.066, 0.079, 0.079, 0.079, 0.079, 0.079, 0.079),
    mixed_links="side",
)
