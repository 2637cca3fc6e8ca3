"""A labelling run: images and video frames in; a COCO keypoint json, a COCO box json and stats out.

The keypoint json holds the persons that passed every quality control. The box json holds
every image that was seen (images without persons are the detector's negatives) and every
person box: official boxes and confident detector boxes as boxes, detector boxes between
``proposal_score`` and ``box_score`` as ``iscrowd`` ignore regions, so that a detector
trained on it is neither taught them as persons nor as background.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from poselive.errors import ConfigError, SinkError
from poselive.labeling.boxes import OfficialBoxes
from poselive.labeling.hashing import (EvalLeakError, ExclusionSet, decode_image, list_images,
                                       list_videos, pixel_sha1, sha1_bytes)
from poselive.labeling.labeler import Labeler, PersonLabel
from poselive.labeling.qc import REASONS, FrameDeduper

log = logging.getLogger("poselive.labeling")

ANNOTATIONS = "pseudo_keypoints.json"
BOX_ANNOTATIONS = "pseudo_boxes.json"
STATS = "stats.json"


@dataclass
class LabelJob:
    """What to label and where to write it."""

    out: Path
    images: list[Path] = field(default_factory=list)  # folders or files
    videos: list[Path] = field(default_factory=list)  # files or folders of videos
    boxes: list[Path] = field(default_factory=list)  # COCO jsons / YOLO label folders
    exclude: list[Path] = field(default_factory=list)  # evaluation image folders
    frame_stride: int = 1
    dedup_threshold: float = 2.0  # mean abs thumbnail difference; 0 keeps every frame
    max_images: int | None = None
    copy_images: bool = False  # copy still images into out/images (else reference them)
    strict_exclude: bool = False  # raise instead of dropping an evaluation image
    jpeg_quality: int = 95
    boxes_only: bool = False  # person boxes only: skip the pose teachers (no keypoint json)


@dataclass
class _Item:
    """One image to label: a still image file or a decoded video frame."""

    source: str  # the folder or video it came from
    path: Path | None  # still images: the file
    image: np.ndarray
    file_hash: str | None
    frame_index: int | None = None


def _coco_categories(labeler: Labeler) -> list[dict]:
    k = labeler.kset
    # COCO numbers keypoints from 1 in its skeleton.
    return [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(k.names),
             "skeleton": [[a + 1, b + 1] for a, b in k.skeleton]}]


class LabelRun:
    """Runs a ``Labeler`` over a ``LabelJob`` and writes the COCO json, frames and stats."""

    def __init__(self, labeler: Labeler, job: LabelJob,
                 on_progress: Callable[[dict], None] | None = None) -> None:
        self.labeler = labeler
        self.job = job
        self.on_progress = on_progress
        self.official = OfficialBoxes()
        for b in job.boxes:
            self.official.add(b)
        self.exclusion = ExclusionSet.from_dirs(job.exclude)
        self.stats: dict = {"images_seen": 0, "images_kept": 0, "images_excluded_eval": 0,
                            "images_unreadable": 0, "images_without_persons": 0,
                            "frames_decoded": 0, "frames_skipped_stride": 0, "frames_duplicate": 0,
                            "persons_proposed": 0, "persons_accepted": 0,
                            "persons_from_official_boxes": 0, "keypoints_accepted": 0,
                            "rejected": Counter(), "excluded_files": [], "sources": {}}
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.box_images: list[dict] = []
        self.box_annotations: list[dict] = []

    # -- inputs ------------------------------------------------------------------------------
    def _stills(self) -> Iterator[_Item]:
        for root in self.job.images:
            for p in list_images(root):
                data = p.read_bytes()
                image = decode_image(data)
                if image is None:
                    self.stats["images_unreadable"] += 1
                    log.warning("cannot decode %s; skipped", p)
                    continue
                yield _Item(str(root), p, image, sha1_bytes(data))

    def _frames(self) -> Iterator[_Item]:
        from poselive.sources.video_file import VideoFileSource

        dedup = FrameDeduper(self.job.dedup_threshold)
        stride = max(1, int(self.job.frame_stride))
        videos = [v for root in self.job.videos for v in list_videos(root)]
        missing = [str(r) for r in self.job.videos if not Path(r).exists()]
        if missing:
            raise ConfigError(f"video not found: {', '.join(missing)}; check the paths")
        for v in videos:
            dedup.reset()
            with VideoFileSource(v) as src:
                for pkt in src:
                    self.stats["frames_decoded"] += 1
                    if pkt.index % stride:
                        self.stats["frames_skipped_stride"] += 1
                        continue
                    if self.job.dedup_threshold > 0 and not dedup.keep(pkt.image):
                        self.stats["frames_duplicate"] += 1
                        continue
                    yield _Item(str(v), None, pkt.image, None, pkt.index)

    # -- output ------------------------------------------------------------------------------
    def _file_name(self, item: _Item, image_id: int) -> tuple[str, str | None]:
        """(file_name relative to out or absolute, sha1 of the written bytes)."""
        out = self.job.out
        if item.frame_index is not None:
            stem = Path(item.source).stem
            rel = Path("frames") / stem / f"{stem}_{item.frame_index:06d}.jpg"
            ok, buf = cv2.imencode(".jpg", item.image, [cv2.IMWRITE_JPEG_QUALITY, self.job.jpeg_quality])
            if not ok:
                raise SinkError(f"cannot encode frame {item.frame_index} of {item.source} as JPEG")
            data = buf.tobytes()
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(data)
            return rel.as_posix(), sha1_bytes(data)
        assert item.path is not None
        if self.job.copy_images:
            rel = Path("images") / f"{image_id:08d}_{item.path.name}"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.path, out / rel)
            return rel.as_posix(), item.file_hash
        # An absolute file_name: Path(img_dir) / file_name resolves to it for any img_dir.
        return str(item.path.resolve()), item.file_hash

    def _annotation(self, p: PersonLabel, image_id: int) -> dict:
        k = self.labeler.kset.num_keypoints
        kp = np.zeros((k, 3), np.float64)
        kp[p.visible, :2] = p.keypoints[p.visible]
        kp[p.visible, 2] = 2
        x1, y1, x2, y2 = (float(v) for v in p.box)
        return {"id": len(self.annotations) + 1, "image_id": image_id, "category_id": 1,
                "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": 0,
                "keypoints": [round(float(v), 2) if i % 3 != 2 else int(v) for i, v in enumerate(kp.ravel())],
                "num_keypoints": int(p.visible.sum()), "score": round(p.score, 4),
                "box_score": round(p.box_score, 4), "box_source": p.box_source,
                "keypoint_scores": [round(float(s), 3) for s in p.scores], "agreement": p.agreement}

    # -- the run -----------------------------------------------------------------------------
    def _guard(self, item: _Item) -> bool:
        """False (and counted) when the item is an evaluation image."""
        hit = self.exclusion.match(item.file_hash, pixel_sha1(item.image))
        if hit is None:
            return True
        name = str(item.path) if item.path else f"{item.source}#frame={item.frame_index}"
        if self.job.strict_exclude:
            raise EvalLeakError(f"{name} is the evaluation image {hit}; remove it from the training "
                                "sources (or drop --strict-exclude to skip it)")
        self.stats["images_excluded_eval"] += 1
        self.stats["excluded_files"].append(name)
        log.warning("skipping %s: it is the evaluation image %s", name, hit)
        return False

    def run(self) -> dict:
        """Label everything; write the json and the stats; return the stats."""
        job, st = self.job, self.stats
        job.out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        for src in (self._stills(), self._frames()):
            for item in src:
                if job.max_images is not None and st["images_seen"] >= job.max_images:
                    break
                st["images_seen"] += 1
                if not self._guard(item):
                    continue
                self._label(item)
                if self.on_progress is not None:
                    self.on_progress(self.summary(time.perf_counter() - t0))
            if job.max_images is not None and st["images_seen"] >= job.max_images:
                break
        st["elapsed_s"] = round(time.perf_counter() - t0, 2)
        self._write()
        return self.summary(st["elapsed_s"])

    def _label(self, item: _Item) -> None:
        st = self.stats
        h, w = item.image.shape[:2]
        official = self.official.lookup(item.path, (w, h)) if item.path is not None else None
        if self.job.boxes_only:
            persons = self.labeler.propose(item.image, official)
            accepted: list[PersonLabel] = []
        else:
            persons = self.labeler.label(item.image, official)
            accepted = [p for p in persons if p.accepted]
        per = st["sources"].setdefault(item.source, {"images": 0, "persons_proposed": 0, "persons_accepted": 0})
        per["images"] += 1
        per["persons_proposed"] += len(persons)
        per["persons_accepted"] += len(accepted)
        st["persons_proposed"] += len(persons)
        st["persons_accepted"] += len(accepted)
        st["persons_from_official_boxes"] += sum(p.box_source == "official" for p in accepted)
        st["keypoints_accepted"] += sum(int(p.visible.sum()) for p in accepted)
        for p in persons:
            if p.reason is not None:
                st["rejected"][p.reason] += 1
        if not persons:
            st["images_without_persons"] += 1
        image_id = len(self.box_images) + 1
        file_name, file_hash = self._file_name(item, image_id)
        entry = {"id": image_id, "file_name": file_name, "width": w, "height": h,
                 "source": item.source, "sha1": file_hash, "pixel_sha1": pixel_sha1(item.image),
                 "boxes": "official" if official is not None else "detector"}
        if item.frame_index is not None:
            entry["frame_index"] = item.frame_index
        self.box_images.append(entry)
        for p in persons:
            self.box_annotations.append(self._box_annotation(p, image_id))
        if not accepted:
            return  # no keypoint labels: every proposal was rejected (or there was none)
        self.images.append(dict(entry, num_rejected=len(persons) - len(accepted)))
        st["images_kept"] += 1
        for p in accepted:
            self.annotations.append(self._annotation(p, image_id))

    def _box_annotation(self, p: PersonLabel, image_id: int) -> dict:
        x1, y1, x2, y2 = (float(v) for v in p.box)
        ignore = p.box_source != "official" and p.box_score < self.labeler.qc.box_score
        return {"id": len(self.box_annotations) + 1, "image_id": image_id, "category_id": 1,
                "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": int(ignore),
                "score": round(p.box_score, 4), "box_source": p.box_source}

    def summary(self, elapsed: float) -> dict:
        """The stats so far as plain JSON data."""
        st = dict(self.stats)
        st["rejected"] = {r: int(self.stats["rejected"].get(r, 0)) for r in REASONS}
        st["elapsed_s"] = round(elapsed, 2)
        return st

    def _write(self) -> None:
        coco = {"info": {"description": "poselive pseudo-labels", "date_created": time.strftime("%Y-%m-%d %H:%M:%S"),
                         "teachers": getattr(self.labeler, "teacher_names", {}),
                         "qc": {k: v for k, v in vars(self.labeler.qc).items()},
                         "flip_check": self.labeler.flip_check},
                "images": self.images, "annotations": self.annotations,
                "categories": _coco_categories(self.labeler)}
        if not self.job.boxes_only:
            (self.job.out / ANNOTATIONS).write_text(json.dumps(coco))
        boxes = dict(coco, images=self.box_images, annotations=self.box_annotations,
                     categories=[{"id": 1, "name": "person", "supercategory": "person"}])
        boxes["info"] = dict(coco["info"], description="poselive person boxes (iscrowd=1: ignore region)")
        (self.job.out / BOX_ANNOTATIONS).write_text(json.dumps(boxes))
        (self.job.out / STATS).write_text(json.dumps(self.summary(self.stats["elapsed_s"]), indent=2))


def format_summary(stats: dict) -> str:
    """A few human-readable lines of a run's stats."""
    rej = ", ".join(f"{k} {v}" for k, v in stats["rejected"].items() if v) or "none"
    return "\n".join([
        f"images: {stats['images_seen']} seen, {stats['images_kept']} kept, "
        f"{stats['images_excluded_eval']} excluded (evaluation), {stats['images_without_persons']} without persons",
        f"video frames: {stats['frames_decoded']} decoded, {stats['frames_skipped_stride']} skipped by stride, "
        f"{stats['frames_duplicate']} near-duplicates dropped",
        f"persons: {stats['persons_proposed']} proposed, {stats['persons_accepted']} accepted "
        f"({stats['persons_from_official_boxes']} on official boxes), {stats['keypoints_accepted']} keypoints",
        f"rejected: {rej}",
        f"time: {stats['elapsed_s']:.1f} s",
    ])
