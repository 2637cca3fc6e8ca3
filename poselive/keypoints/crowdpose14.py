"""CrowdPose-14 keypoints: the 12 COCO limb joints plus head (top) and neck.

Order is the one in CrowdPose's annotation files (``categories[0]["keypoints"]``):
left/right alternate from the shoulders down, then ``head`` and ``neck``. Left/right are
the person's own sides, as in COCO.
"""

from poselive.keypoints import named_set

_NAMES = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
    "head", "neck",
)


# The annotation files carry COCO's 17-point skeleton (1-based, indices up to 17), which does
# not fit 14 points, so the links are written out here by name.
_LINKS = (
    ("head", "neck"), ("neck", "left_shoulder"), ("neck", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
)


KEYPOINT_SET = named_set(
    "crowdpose14", _NAMES, _LINKS,
    # Sigmas of CrowdPose's own COCO-API fork: COCO's values for the 12 limb joints and
    # 0.079 for head and neck.
    sigmas=(0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
            0.087, 0.087, 0.089, 0.089, 0.079, 0.079),
)
