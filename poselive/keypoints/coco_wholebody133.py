"""COCO-WholeBody-133: COCO-17 body, 6 foot, 68 face and 2 x 21 hand keypoints."""

from poselive.keypoints import KeypointSet, pairs_by_prefix
from poselive.keypoints.coco17 import KEYPOINT_SET as _BODY
from poselive.keypoints.face68 import KEYPOINT_SET as _FACE
from poselive.keypoints.hand21 import KEYPOINT_SET as _HAND

_FEET = ("left_big_toe", "left_small_toe", "left_heel",
         "right_big_toe", "right_small_toe", "right_heel")
_FACE0 = len(_BODY.names) + len(_FEET)          # 23
_LHAND0 = _FACE0 + _FACE.num_keypoints          # 91
_RHAND0 = _LHAND0 + _HAND.num_keypoints         # 112


def _hand_names(side: str) -> tuple[str, ...]:
    # The hand set calls its root "wrist"; here it would clash with the body wrist.
    return tuple(f"{side}_hand_root" if n == "wrist" else f"{side}_{n}" for n in _HAND.names)


_NAMES = (_BODY.names + _FEET + tuple(f"face-{i}" for i in range(68))
          + _hand_names("left") + _hand_names("right"))


def _i(name: str) -> int:
    return _NAMES.index(name)


_FEET_LINKS = tuple((_i(a), _i(b)) for a, b in (
    ("left_ankle", "left_big_toe"), ("left_ankle", "left_small_toe"), ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"), ("right_ankle", "right_small_toe"), ("right_ankle", "right_heel"),
))
_SKELETON = (
    _BODY.skeleton + _FEET_LINKS
    + tuple((a + _LHAND0, b + _LHAND0) for a, b in _HAND.skeleton)
    + tuple((a + _RHAND0, b + _RHAND0) for a, b in _HAND.skeleton)
)
_LINK_COLOURS = (
    tuple(_BODY.link_color(i) for i in range(len(_BODY.skeleton)))
    + tuple(_BODY.colors[a] for a, _ in _FEET_LINKS)
    + _HAND.link_colors * 2
)

KEYPOINT_SET = KeypointSet(
    name="coco_wholebody133",
    names=_NAMES,
    skeleton=_SKELETON,
    flip_pairs=(pairs_by_prefix(_NAMES)
                + tuple((a + _FACE0, b + _FACE0) for a, b in _FACE.flip_pairs)),
    # COCO-WholeBody evaluation sigmas: body, feet, face, left hand, right hand.
    sigmas=(_BODY.sigmas + (0.068, 0.066, 0.066, 0.092, 0.094, 0.094)
            + _FACE.sigmas + _HAND.sigmas * 2),
    colors=(_BODY.colors + tuple(_BODY.colors[15] if n.startswith("left") else _BODY.colors[16]
                                 for n in _FEET)
            + (_FACE.colors[0],) * 68 + _HAND.colors * 2),
    link_colors=_LINK_COLOURS,
)
