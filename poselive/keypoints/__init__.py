"""Keypoint sets as data: names, skeleton, flip pairs, OKS sigmas and colours.

Every consumer (flip test, OKS, tracker, renderer, datasets) reads these definitions.
A new set is one module defining a ``KeypointSet`` plus one line in ``_MODULES``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from poselive.errors import ConfigError

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class KeypointSet:
    """Metadata of one keypoint layout (e.g. COCO-17)."""

    name: str
    names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]  # pairs of keypoint indices
    flip_pairs: tuple[tuple[int, int], ...]  # (left, right) index pairs
    sigmas: tuple[float, ...]  # OKS sigmas, one per keypoint
    colors: tuple[RGB, ...]  # one RGB colour per keypoint
    link_colors: tuple[RGB, ...] = field(default=())  # one RGB colour per skeleton link

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def flip_index(self) -> np.ndarray:
        """Permutation that maps each keypoint to its mirror partner (itself if none)."""
        perm = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def sigmas_array(self) -> np.ndarray:
        """OKS sigmas as float32 [K]."""
        return np.asarray(self.sigmas, np.float32)

    def link_color(self, i: int) -> RGB:
        """Colour of skeleton link i (falls back to its first keypoint's colour)."""
        if self.link_colors:
            return self.link_colors[i]
        return self.colors[self.skeleton[i][0]]

    def validate(self) -> None:
        """Raise ConfigError if the definition is inconsistent."""
        k = self.num_keypoints
        problems = []
        if len(set(self.names)) != k:
            problems.append("duplicate keypoint names")
        if len(self.sigmas) != k:
            problems.append(f"{len(self.sigmas)} sigmas for {k} keypoints")
        if len(self.colors) != k:
            problems.append(f"{len(self.colors)} colours for {k} keypoints")
        if self.link_colors and len(self.link_colors) != len(self.skeleton):
            problems.append("link colours do not match the skeleton")
        for a, b in self.skeleton:
            if not (0 <= a < k and 0 <= b < k) or a == b:
                problems.append(f"bad skeleton link ({a}, {b})")
        seen: set[int] = set()
        for a, b in self.flip_pairs:
            if not (0 <= a < k and 0 <= b < k) or a == b or a in seen or b in seen:
                problems.append(f"bad flip pair ({a}, {b})")
            seen.update((a, b))
        if problems:
            raise ConfigError(f"keypoint set '{self.name}' is inconsistent: " + "; ".join(problems))


def pairs_by_prefix(names: tuple[str, ...], left: str = "left_", right: str = "right_"):
    """Flip pairs found by matching 'left_*' names with their 'right_*' partners."""
    index = {n: i for i, n in enumerate(names)}
    pairs = []
    for i, n in enumerate(names):
        if n.startswith(left):
            j = index.get(right + n[len(left):])
            if j is not None:
                pairs.append((i, j))
    return tuple(pairs)


# Colours by side: the person's left, right, and points on the midline.
CENTRE: RGB = (80, 160, 255)
LEFT: RGB = (40, 220, 90)
RIGHT: RGB = (255, 140, 20)


def side_colour(name: str) -> RGB:
    """LEFT for 'left_*' names, RIGHT for 'right_*', CENTRE otherwise."""
    if name.startswith("left_"):
        return LEFT
    if name.startswith("right_"):
        return RIGHT
    return CENTRE


def named_set(name: str, names: tuple[str, ...], links: tuple[tuple[str, str], ...],
              sigmas: tuple[float, ...], mixed_links: str = "centre") -> KeypointSet:
    """A body keypoint set from names and links given by name.

    Flip pairs come from 'left_'/'right_' names and colours from the side; a link between
    two sides is drawn in CENTRE (``mixed_links="centre"``) or in the colour of its
    left/right end (``"side"``, e.g. a foot joined to the midline hip).
    """
    index = {n: i for i, n in enumerate(names)}

    def link_colour(a: str, b: str) -> RGB:
        sides = {side_colour(a), side_colour(b)}
        if len(sides) == 1:
            return sides.pop()
        if mixed_links == "side":
            return LEFT if LEFT in sides else RIGHT
        return CENTRE

    return KeypointSet(
        name=name, names=names,
        skeleton=tuple((index[a], index[b]) for a, b in links),
        flip_pairs=pairs_by_prefix(names), sigmas=tuple(sigmas),
        colors=tuple(side_colour(n) for n in names),
        link_colors=tuple(link_colour(a, b) for a, b in links),
    )


# name -> module that defines KEYPOINT_SET. One line per set.
_MODULES: dict[str, str] = {
    "coco17": "poselive.keypoints.coco17",
    "halpe26": "poselive.keypoints.halpe26",
    "coco_wholebody133": "poselive.keypoints.coco_wholebody133",
    "hand21": "poselive.keypoints.hand21",
    "face68": "poselive.keypoints.face68",
    "ap10k": "poselive.keypoints.ap10k",
    "crowdpose14": "poselive.keypoints.crowdpose14",
    "aic14": "poselive.keypoints.aic14",
    "mpii16": "poselive.keypoints.mpii16",
}
_ALIASES = {"coco": "coco17", "coco-17": "coco17", "halpe": "halpe26", "halpe-26": "halpe26",
            "coco_wholebody": "coco_wholebody133", "wholebody": "coco_wholebody133",
            "coco-wholebody-133": "coco_wholebody133", "hand": "hand21", "hand-21": "hand21",
            "face": "face68", "face-68": "face68", "300w": "face68", "ap-10k": "ap10k",
            "crowdpose": "crowdpose14", "crowdpose-14": "crowdpose14", "aic": "aic14",
            "aic-14": "aic14", "ai_challenger": "aic14", "mpii": "mpii16", "mpii-16": "mpii16"}
_CACHE: dict[str, KeypointSet] = {}


def available() -> list[str]:
    """Names of all registered keypoint sets."""
    return sorted(_MODULES)


def get_keypoint_set(name: str) -> KeypointSet:
    """The keypoint set registered under ``name`` (case-insensitive, aliases allowed)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _MODULES:
        raise ConfigError(f"unknown keypoint set '{name}'; known: {', '.join(available())}")
    if key not in _CACHE:
        kset = importlib.import_module(_MODULES[key]).KEYPOINT_SET
        kset.validate()
        _CACHE[key] = kset
    return _CACHE[key]
