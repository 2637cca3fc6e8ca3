"""AI Challenger (AIC) 14 keypoints: right arm, left arm, right leg, left leg, head top, neck.

Order is the one in AIC's annotation files (``categories[0]["keypoints"]``, there spelled
"Right Shoulder", ..., "Head top", "Neck"); note that the right side comes first, unlike
COCO. Left/right are the person's own sides.
"""

from poselive.keypoints import named_set

_NAMES = (
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "head_top", "neck",
)


# The same 14 links as the annotation files' own (1-based) skeleton, written by name.
_LINKS = (
    ("head_top", "neck"), ("neck", "right_shoulder"), ("neck", "left_shoulder"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "left_hip"), ("right_hip", "left_hip"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
)


KEYPOINT_SET = named_set(
    "aic14", _NAMES, _LINKS,
    # AI Challenger's keypoint evaluation (keypoint_eval.py) uses delta = 2 * these values in
    # exp(-d^2 / (2 * area * delta^2)), which is COCO's OKS with these as the sigmas. They
    # were measured per point, so mirror partners differ slightly; kept as published.
    sigmas=(0.01388152, 0.01515228, 0.01057665, 0.01417709, 0.01497891, 0.01402144,
            0.03909642, 0.03686941, 0.01981803, 0.03843971, 0.03412318, 0.02415081,
            0.01291456, 0.01236173),
)
