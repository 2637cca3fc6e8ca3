"""Datasets: COCO-format keypoints (top-down, one sample per person) and person boxes.

Keypoint datasets are read through a keypoint set (``poselive.keypoints``), so any layout
works once it is registered. Samples are plain dicts; the transforms in
``trainer.data.transforms`` turn them into tensors. Images are read lazily by
``LoadImage`` so a dataset object is cheap to build and to pickle into workers.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from poselive.errors import ConfigError
from poselive.keypoints import KeypointSet, get_keypoint_set

# Where each known annotation layout keeps its keypoints. "fields" are concatenated in
# order (COCO-WholeBody keeps body, feet, face and hands in separate lists); "first"
# keeps only the first K points (Halpe-26 is the body part of Halpe-136).
LAYOUTS: dict[str, dict[str, Any]] = {
    "coco": {"fields": ("keypoints",)},
    "coco_wholebody": {"fields": ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")},
    "halpe": {"fields": ("keypoints",), "first": True},
}

# Public datasets in COCO format (the MMPose test fragments): layout and keypoint set.
KNOWN_FORMATS: dict[str, tuple[str, str]] = {
    "coco": ("coco", "coco17"),
    "ochuman": ("coco", "coco17"),
    "crowdpose": ("coco", "crowdpose14"),
    "aic": ("coco", "aic14"),
    "halpe": ("halpe", "halpe26"),
    "coco_wholebody": ("coco_wholebody", "coco_wholebody133"),
    "onehand10k": ("coco", "hand21"),
    "freihand": ("coco", "hand21"),
    "300w": ("coco", "face68"),
    "ap10k": ("coco", "ap10k"),
}


def _resolve_set(keypoint_set: str | KeypointSet) -> KeypointSet:
    return keypoint_set if isinstance(keypoint_set, KeypointSet) else get_keypoint_set(keypoint_set)


def xywh_to_xyxy(b: Sequence[float]) -> np.ndarray:
    """COCO [x, y, w, h] -> [x1, y1, x2, y2] float32."""
    x, y, w, h = (float(v) for v in b[:4])
    return np.array([x, y, x + w, y + h], np.float32)


def read_keypoints(ann: dict, layout: str, num_keypoints: int) -> np.ndarray:
    """Keypoints [K, 3] (x, y, visibility) of one annotation in the given layout."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown annotation layout '{layout}'; known: {', '.join(LAYOUTS)}")
    spec = LAYOUTS[layout]
    parts = [np.asarray(ann.get(f, []), np.float32).reshape(-1, 3) for f in spec["fields"]]
    kp = np.concatenate(parts, 0) if parts else np.zeros((0, 3), np.float32)
    if spec.get("first") and kp.shape[0] >= num_keypoints:
        kp = kp[:num_keypoints]
    if kp.shape[0] != num_keypoints:
        raise ConfigError(f"annotation {ann.get('id')} has {kp.shape[0]} keypoints but the keypoint set "
                          f"has {num_keypoints}; pick the keypoint set and layout that match the file")
    return kp


class CocoKeypointDataset:
    """Top-down samples (one per person) from a COCO-format keypoint annotation file.

    ``mode="train"`` skips crowd annotations and persons without labelled keypoints;
    ``mode="eval"`` keeps every non-crowd person box from the ground truth (crowd and
    unlabelled ones are ignored by the COCO protocol itself), or, with ``det_results``
    (a COCO results json with ``bbox`` and ``score``), one sample per detection.
    """

    def __init__(self, ann_file: str | Path | dict, img_dir: str | Path, keypoint_set: str | KeypointSet = "coco17",
                 mode: str = "train", layout: str = "coco", det_results: str | Path | list | None = None,
                 det_score_threshold: float = 0.0, pipeline: Callable[[dict], dict] | None = None,
                 min_keypoints: int = 1) -> None:
        if mode not in ("train", "eval"):
            raise ConfigError(f"dataset mode must be 'train' or 'eval', not '{mode}'")
        self.kset = _resolve_set(keypoint_set)
        self.mode = mode
        self.layout = layout
        self.img_dir = Path(img_dir)
        self.pipeline = pipeline
        if isinstance(ann_file, dict):
            self.coco = ann_file
            self.ann_file = None
        else:
            self.ann_file = Path(ann_file)
            if not self.ann_file.is_file():
                raise ConfigError(f"annotation file not found: {self.ann_file}")
            self.coco = json.loads(self.ann_file.read_text())
        self.images = {im["id"]: im for im in self.coco["images"]}
        k = self.kset.num_keypoints
        self.samples: list[dict] = []
        if det_results is not None:
            dets = json.loads(Path(det_results).read_text()) if not isinstance(det_results, list) else det_results
            for d in dets:
                if d.get("category_id", 1) != 1 or d["score"] < det_score_threshold or d["image_id"] not in self.images:
                    continue
                self.samples.append(self._sample(d["image_id"], xywh_to_xyxy(d["bbox"]), float(d["score"]),
                                                 np.zeros((k, 3), np.float32), -1))
            return
        for ann in self.coco["annotations"]:
            # Every annotation of a keypoint file is a keypoint instance (AP-10K spreads them
            # over many animal categories), so categories are not filtered here.
            kp = read_keypoints(ann, layout, k) if ann.get("keypoints") else np.zeros((k, 3), np.float32)
            labelled = int((kp[:, 2] > 0).sum())
            if ann.get("iscrowd", 0):
                continue
            if mode == "train" and labelled < min_keypoints:
                continue
            box = xywh_to_xyxy(ann["bbox"]) if "bbox" in ann else self._box_from_keypoints(kp)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            self.samples.append(self._sample(ann["image_id"], box, 1.0, kp, ann.get("id", -1)))

    @staticmethod
    def _box_from_keypoints(kp: np.ndarray) -> np.ndarray:
        pts = kp[kp[:, 2] > 0, :2]
        return np.array([*pts.min(0), *pts.max(0)], np.float32) if len(pts) else np.zeros(4, np.float32)

    def _sample(self, image_id: int, box: np.ndarray, box_score: float, kp: np.ndarray, ann_id: int) -> dict:
        im = self.images[image_id]
        return {"image_path": str(self.img_dir / im["file_name"]), "image_id": image_id,
                "image_size": (int(im.get("width", 0)), int(im.get("height", 0))),
                "bbox": box, "bbox_score": box_score, "keypoints": kp[:, :2].copy(),
                "visible": (kp[:, 2] > 0).astype(np.float32), "ann_id": ann_id}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        s = dict(self.samples[i])
        s["keypoints"] = s["keypoints"].copy()
        s["visible"] = s["visible"].copy()
        s["index"] = i
        return self.pipeline(s) if self.pipeline is not None else s


def load_known_format(name: str, ann_file: str | Path, img_dir: str | Path, **kw: Any) -> CocoKeypointDataset:
    """A keypoint dataset for one of ``KNOWN_FORMATS`` (CrowdPose, AIC, Halpe, ...)."""
    if name not in KNOWN_FORMATS:
        raise ConfigError(f"unknown dataset format '{name}'; known: {', '.join(sorted(KNOWN_FORMATS))}")
    layout, kset = KNOWN_FORMATS[name]
    return CocoKeypointDataset(ann_file, img_dir, keypoint_set=kw.pop("keypoint_set", kset), layout=layout, **kw)


def load_mpii(ann_file: str | Path, img_dir: str | Path, keypoint_set: str | KeypointSet = "mpii16") -> list[dict]:
    """MPII's json (list of ``joints``/``joints_vis``/``center``/``scale``) as top-down samples.

    MPII gives a centre and a scale in units of 200 px instead of a box, with 1-based
    pixel coordinates. Following the usual MPII convention, coordinates become 0-based,
    the centre moves down by 15 * scale px (MPII's centre sits high, near the chest) and
    the extent grows 1.25x so that ankles stay inside; the box is that square, un-padded
    by 1.25 so that the usual top-down padding restores it.
    """
    kset = _resolve_set(keypoint_set)
    out = []
    for i, a in enumerate(json.loads(Path(ann_file).read_text())):
        joints = np.asarray(a["joints"], np.float32)
        if joints.shape[0] != kset.num_keypoints:
            raise ConfigError(f"MPII entry has {joints.shape[0]} joints, keypoint set {kset.name} has {kset.num_keypoints}")
        vis = np.asarray(a["joints_vis"], np.float32)
        joints = np.where(vis[:, None] > 0, joints - 1.0, joints)  # 1-based -> 0-based
        scale = float(a["scale"])
        c = np.asarray(a["center"], np.float32) - 1.0
        if c[0] > 0:
            c[1] += 15.0 * scale
        half = scale * 1.25 * 200.0 / 1.25 / 2
        out.append({"image_path": str(Path(img_dir) / a["image"]), "image_id": i,
                    "bbox": np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half], np.float32),
                    "bbox_score": 1.0, "keypoints": joints,
                    "visible": vis, "ann_id": i})
    return out


class PersonBoxDataset:
    """Images with person boxes (xyxy, original px) for detector training and box AP.

    Build it with ``from_coco`` (COCO instances json; category 1 = person, crowd boxes
    kept separately as ``ignore`` regions) or ``from_yolo`` (YOLO txt labels, class 0 =
    person, normalised cx cy w h).
    """

    def __init__(self, items: list[dict], pipeline: Callable[[dict], dict] | None = None) -> None:
        self.items = items
        self.pipeline = pipeline

    @classmethod
    def from_coco(cls, ann_file: str | Path, img_dir: str | Path, category_id: int = 1,
                  keep_empty: bool = True, **kw: Any) -> "PersonBoxDataset":
        """Person boxes from a COCO instances json."""
        coco = json.loads(Path(ann_file).read_text())
        boxes: dict = defaultdict(list)
        crowd: dict = defaultdict(list)
        for a in coco["annotations"]:
            if a.get("category_id") != category_id:
                continue
            b = xywh_to_xyxy(a["bbox"])
            if b[2] <= b[0] or b[3] <= b[1]:
                continue
            (crowd if a.get("iscrowd", 0) else boxes)[a["image_id"]].append(b)
        items = []
        for im in coco["images"]:
            if not keep_empty and not boxes.get(im["id"]):
                continue
            items.append({"image_path": str(Path(img_dir) / im["file_name"]), "image_id": im["id"],
                          "boxes": np.array(boxes.get(im["id"], []), np.float32).reshape(-1, 4),
                          "ignore": np.array(crowd.get(im["id"], []), np.float32).reshape(-1, 4)})
        return cls(items, **kw)

    @classmethod
    def from_yolo(cls, images_dir: str | Path, labels_dir: str | Path, person_class: int = 0,
                  keep_empty: bool = True, **kw: Any) -> "PersonBoxDataset":
        """Person boxes from YOLO txt labels (``class cx cy w h`` normalised per line).

        The labels are normalised, so pixel boxes need the image size: they are filled in
        by ``load_image_and_boxes`` when the image is read (no decoding at build time).
        """
        items = []
        for p in sorted(Path(images_dir).iterdir()):
            if p.suffix.lower() not in (".jpg", ".jpeg", ".png", ".bmp"):
                continue
            lab = Path(labels_dir) / (p.stem + ".txt")
            rows = np.loadtxt(lab, ndmin=2) if lab.is_file() and lab.stat().st_size else np.zeros((0, 5))
            rows = rows[rows[:, 0] == person_class] if len(rows) else rows
            if not keep_empty and not len(rows):
                continue
            items.append({"image_path": str(p), "image_id": p.stem, "boxes": None,
                          "boxes_normalized": rows[:, 1:5].astype(np.float32).reshape(-1, 4),
                          "ignore": np.zeros((0, 4), np.float32)})
        return cls(items, **kw)

    def __len__(self) -> int:
        return len(self.items)

    def to_coco(self, boxes_by_index: dict[int, np.ndarray] | None = None) -> dict:
        """The person boxes as a COCO ground-truth dict (for box AP); crowd regions are
        kept as ``iscrowd`` boxes. YOLO boxes need ``boxes_by_index`` (pixel boxes, known
        once the images were read)."""
        images, anns = [], []
        for i, it in enumerate(self.items):
            boxes = it["boxes"] if it["boxes"] is not None else (boxes_by_index or {}).get(i)
            if boxes is None:
                raise ConfigError("pixel boxes of YOLO labels are known only after reading the images")
            images.append({"id": i, "file_name": Path(it["image_path"]).name})
            for b, crowd in [(b, 0) for b in boxes] + [(b, 1) for b in it.get("ignore", [])]:
                w, h = float(b[2] - b[0]), float(b[3] - b[1])
                anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "iscrowd": crowd,
                             "bbox": [float(b[0]), float(b[1]), w, h], "area": w * h})
        return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}

    def __getitem__(self, i: int) -> dict:
        s = dict(self.items[i])
        if s["boxes"] is not None:
            s["boxes"] = s["boxes"].copy()
        s["index"] = i
        return self.pipeline(s) if self.pipeline is not None else s


def load_image_and_boxes(sample: dict) -> dict:
    """Read the sample's image (BGR) and make sure ``boxes`` are xyxy pixels."""
    import cv2

    img = cv2.imread(sample["image_path"], cv2.IMREAD_COLOR)
    if img is None:
        raise ConfigError(f"cannot read image {sample['image_path']}")
    sample["image"] = img
    if sample.get("boxes") is None:
        h, w = img.shape[:2]
        n = np.asarray(sample["boxes_normalized"], np.float32).reshape(-1, 4)
        cx, cy, bw, bh = n[:, 0] * w, n[:, 1] * h, n[:, 2] * w, n[:, 3] * h
        sample["boxes"] = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(np.float32)
    return sample
