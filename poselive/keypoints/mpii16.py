"""MPII Human Pose 16 keypoints.

Order is MPII's joint ids 0-15 (the ``joints`` lists of the MPII json read by
``trainer.data.datasets.load_mpii``): right leg from the ankle up, left leg from the hip
down, pelvis, thorax, upper neck, head top, right arm from the wrist up, left arm from the
shoulder down. Left/right are the person's own sides.

MPII has no OKS protocol: its benchmark is PCKh@0.5 (distance within half the head
segment length; ``poselive.evaluation.keypoint_metrics.pck_accuracy`` with the head size as
``norm``). The sigmas below are an APPROXIMATION so that OKS-based code (OKS-NMS,
tracking, a rough AP) can run on MPII: COCO's published value for the same joint, and
CrowdPose's 0.079 for the head top, upper neck and thorax; the pelvis borrows the hip's.
Do not report OKS AP on MPII as comparable to published numbers.
"""

from poselive.keypoints import named_set

_NAMES = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "pelvis", "thorax", "upper_neck", "head_top",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
)
# Approximate sigmas by joint type (see the module docstring).
_SIGMA = {"ankle": 0.089, "knee": 0.087, "hip": 0.107, "pelvis": 0.107, "thorax": 0.079,
          "upper_neck": 0.079, "head_top": 0.079, "wrist": 0.062, "elbow": 0.072, "shoulder": 0.079}


def _sigma(name: str) -> float:
    return _SIGMA[name.removeprefix("left_").removeprefix("right_")]


_LINKS = (
    ("right_ankle", "right_knee"), ("right_knee", "right_hip"), ("right_hip", "pelvis"),
    ("pelvis", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("pelvis", "thorax"), ("thorax", "upper_neck"), ("upper_neck", "head_top"),
    ("right_wrist", "right_elbow"), ("right_elbow", "right_shoulder"), ("right_shoulder", "thorax"),
    ("thorax", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
)


KEYPOINT_SET = named_set("mpii16", _NAMES, _LINKS, sigmas=tuple(_sigma(n) for n in _NAMES))
