"""Face-68 landmarks in the 300W / iBUG layout (also the face part of COCO-WholeBody)."""

from poselive.keypoints import KeypointSet

# (region, count, closed contour?) in index order.
_REGIONS = (("jaw", 17, False), ("brow_a", 5, False), ("brow_b", 5, False),
            ("nose_bridge", 4, False), ("nose_base", 5, False), ("eye_a", 6, True),
            ("eye_b", 6, True), ("mouth_outer", 12, True), ("mouth_inner", 8, True))
_COLOURS = {"jaw": (200, 200, 200), "brow_a": (255, 140, 20), "brow_b": (40, 220, 90),
            "nose_bridge": (80, 160, 255), "nose_base": (80, 160, 255), "eye_a": (255, 140, 20),
            "eye_b": (40, 220, 90), "mouth_outer": (255, 60, 120), "mouth_inner": (255, 60, 120)}


def _build():
    names, colours, links = [], [], []
    start = 0
    for region, count, closed in _REGIONS:
        names += [f"{region}_{i}" for i in range(count)]
        colours += [_COLOURS[region]] * count
        links += [(start + i, start + i + 1) for i in range(count - 1)]
        if closed:
            links.append((start + count - 1, start))
        start += count
    return tuple(names), tuple(colours), tuple(links)


_NAMES, _COLS, _SKELETON = _build()

# Mirror partners of the 300W layout (image-left <-> image-right landmark).
_FLIP = (
    tuple((i, 16 - i) for i in range(8))              # jaw
    + tuple((17 + i, 26 - i) for i in range(5))       # eyebrows
    + ((31, 35), (32, 34))                            # nostrils
    + ((36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46))  # eyes
    + ((48, 54), (49, 53), (50, 52), (55, 59), (56, 58))            # outer lips
    + ((60, 64), (61, 63), (65, 67))                                # inner lips
)

KEYPOINT_SET = KeypointSet(
    name="face68",
    names=_NAMES,
    skeleton=_SKELETON,
    flip_pairs=_FLIP,
    # 300W publishes no OKS sigmas; these are COCO-WholeBody's face sigmas, which were
    # measured on the same 68-point layout.
    sigmas=(0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029,
            0.032, 0.037, 0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012,
            0.012, 0.011, 0.011, 0.013, 0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009,
            0.008, 0.016, 0.010, 0.017, 0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008,
            0.011, 0.012, 0.010, 0.034, 0.008, 0.008, 0.009, 0.008, 0.008, 0.007, 0.010,
            0.008, 0.009, 0.009, 0.009, 0.007, 0.007, 0.008, 0.011, 0.008, 0.008, 0.008,
            0.010, 0.008),
    colors=_COLS,
)
