"""CrowdPose-14 keypoints: the 12 COCO limb joints plus head (top) and neck.

Order is the one in CrowdPose's annotation files (``categories[0]["keypoints"]``):
left/right alternate from the shoulders down, then ``head`` and ``neck``. Left/right are
the person's own sides, as in COCO.
"""

from poselive.keypoints import KeypointSet, pairs_by_prefix

_NAMES = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
    "head", "neck",
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


def _link_colour(a: str, b: str):
    sides = {_side(a), _side(b)}
    return sides.pop() if len(sides) == 1 else _CENTRE


KEYPOINT_SET = KeypointSet(
    name="crowdpose14",
    names=_NAMES,
    skeleton=tuple((_i(a), _i(b)) for a, b in _LINKS),
    flip_pairs=pairs_by_prefix(_NAMES),
    # Sigmas of CrowdPose's own COCO-API fork: COCO's values for the 12 limb joints and
    # 0.079 for head and neck.
    sigmas=(0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
            0.087, 0.087, 0.089, 0.089, 0.079, 0.079),
    colors=tuple(_side(n) for n in _NAMES),
    link_colors=tuple(_link_colour(a, b) for a, b in _LINKS),
)
