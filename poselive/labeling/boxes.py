"""Official person boxes (COCO json or YOLO txt labels) that win over the detector's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from poselive.errors import ConfigError


class OfficialBoxes:
    """Person boxes by image file name, from COCO jsons and YOLO label folders.

    Images are matched by base name (COCO's file names are unique ids). An image that a
    label source lists but with no person gets an empty box array: the official labels say
    there is nobody, so the detector is not asked.
    """

    def __init__(self) -> None:
        self._coco: dict[str, np.ndarray] = {}  # file name -> [N,4] xyxy px
        self._yolo_dirs: list[Path] = []

    def __len__(self) -> int:
        return len(self._coco) + sum(1 for d in self._yolo_dirs for _ in d.glob("*.txt"))

    def add(self, path: str | Path, person_category: int = 1, person_class: int = 0) -> "OfficialBoxes":
        """Add a COCO json file or a folder of YOLO txt labels."""
        path = Path(path)
        if path.is_dir():
            self._yolo_dirs.append(path)
            self._yolo_class = person_class
            return self
        if not path.is_file():
            raise ConfigError(f"box labels not found: {path}; give a COCO json or a YOLO labels folder")
        coco = json.loads(path.read_text())
        names = {im["id"]: Path(im["file_name"]).name for im in coco.get("images", [])}
        boxes: dict[str, list] = {n: [] for n in names.values()}
        for a in coco.get("annotations", []):
            if a.get("category_id") != person_category or a.get("iscrowd", 0) or a["image_id"] not in names:
                continue
            x, y, w, h = a["bbox"]
            if w > 0 and h > 0:
                boxes[names[a["image_id"]]].append([x, y, x + w, y + h])
        for n, b in boxes.items():
            self._coco[n] = np.asarray(b, np.float32).reshape(-1, 4)
        return self

    def lookup(self, image_path: str | Path, image_size: tuple[int, int]) -> np.ndarray | None:
        """Person boxes [N,4] xyxy px for this image, or None when no source covers it."""
        name = Path(image_path).name
        if name in self._coco:
            return self._coco[name].copy()
        stem = Path(image_path).stem
        for d in self._yolo_dirs:
            lab = d / f"{stem}.txt"
            if not lab.is_file():
                continue
            rows = np.loadtxt(lab, ndmin=2) if lab.stat().st_size else np.zeros((0, 5))
            rows = rows[rows[:, 0] == self._yolo_class] if len(rows) else rows
            w, h = image_size
            cx, cy, bw, bh = (rows[:, i] for i in range(1, 5)) if len(rows) else [np.zeros(0)] * 4
            return np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w,
                             (cy + bh / 2) * h], axis=1).astype(np.float32).reshape(-1, 4)
        return None
