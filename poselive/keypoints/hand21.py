"""Hand-21 keypoints (OneHand10K / COCO-WholeBody-Hand order): wrist and four joints per finger."""

from poselive.keypoints import KeypointSet

FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")
_NAMES = ("wrist",) + tuple(f"{f}{j}" for f in FINGERS for j in range(1, 5))
# One colour per finger; the wrist is white.
_FINGER_COLOURS = ((255, 128, 0), (255, 153, 255), (102, 178, 255), (255, 51, 51), (0, 255, 0))


def _links():
    links = []
    for f in range(5):
        first = 1 + 4 * f
        links.append((0, first))
        links.extend((first + j, first + j + 1) for j in range(3))
    return tuple(links)


_SKELETON = _links()

KEYPOINT_SET = KeypointSet(
    name="hand21",
    names=_NAMES,
    skeleton=_SKELETON,
    # A single hand has no left/right partner inside the set: a mirrored left hand is a
    # right hand with the same keypoint names, so flipping only mirrors coordinates.
    flip_pairs=(),
    # COCO-WholeBody hand sigmas (also used for OneHand10K-style 21-point hands).
    sigmas=(0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
            0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.020, 0.019, 0.022, 0.031),
    colors=((255, 255, 255),) + tuple(c for c in _FINGER_COLOURS for _ in range(4)),
    link_colors=tuple(_FINGER_COLOURS[(b - 1) // 4] for _, b in _SKELETON),
)
