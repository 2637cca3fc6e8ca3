"""Soft-map distillation for MoveNet-architecture students, with targets computed once.

``precompute`` crops every person box of the training sources once (square, the student's
``box_padding``), runs the teacher (Thunder, raw maps through ONNX Runtime) on the same
region at its own resolution and the student's starting point (the import) on the
student's crop, and stores per crop:

- the student input (uint8 BGR) and, where COCO train2017 has them, the real keypoints;
- the teacher's keypoint heatmaps resampled exactly onto the student's grid, and its
  decoded keypoints (sub-pixel positions for the offset targets);
- the start model's own centre map and its regression at its chosen centre: anchors that
  keep the centre and regression heads where the import had them.

``MoveNetDistillSet`` serves them to ``poselive train`` (``data.train.format:
movenet_distill``) as the movenet loss's targets. Evaluation images never enter: every
image is checked against coco-mini/val2017 with the labelling hash guard.

    python -m trainer.distill --teacher THUNDER.pt --student LIGHTNING.pt --out targets.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from poselive import geometry
from poselive.codecs import build_codec
from poselive.errors import ConfigError


# ----------------------------------------------------------------------------- sources
def _coco_boxes(ann: Path, images: Path, min_height: float, with_keypoints: bool) -> list[dict]:
    data = json.loads(ann.read_text())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    items: dict[int, dict] = {}
    for a in data["annotations"]:
        if a.get("iscrowd") or a.get("category_id", 1) != 1:
            continue
        x, y, w, h = a["bbox"]
        if h < min_height:
            continue
        it = items.setdefault(a["image_id"], {"image": str(images / files[a["image_id"]]), "boxes": [], "kpts": []})
        it["boxes"].append([x, y, x + w, y + h])
        kp = np.zeros((17, 3), np.float32)
        if with_keypoints and a.get("num_keypoints", 0) > 0:
            kp = np.asarray(a["keypoints"], np.float32).reshape(17, 3)
        it["kpts"].append(kp)
    return list(items.values())


def _yolo_boxes(root: Path, min_height: float) -> list[dict]:
    out = []
    for lab in sorted((root / "labels").glob("*.txt")):
        img = root / "images" / (lab.stem + ".jpg")
        rows = [r.split() for r in lab.read_text().splitlines() if r.strip()]
        rows = [list(map(float, r[1:5])) for r in rows if r and r[0] == "0"]
        if not rows or not img.is_file():
            continue
        h, w = cv2.imread(str(img)).shape[:2]
        boxes = [[(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
                 for cx, cy, bw, bh in rows if bh * h >= min_height]
        if boxes:
            out.append({"image": str(img), "boxes": boxes, "kpts": [np.zeros((17, 3), np.float32)] * len(boxes)})
    return out


def gather_sources(shared: Path, people_max: int, min_height: float, seed: int) -> list[dict]:
    """Images with person boxes: coco-mini train2017 (with real keypoints), the COCO pool,
    and up to ``people_max`` boxes from people/ (at least a quarter of the image tall)."""
    d = shared / "data"
    items = _coco_boxes(d / "coco-mini/annotations/person_keypoints_train2017.json", d / "coco-mini/train2017",
                        min_height, True)
    items += _yolo_boxes(d / "pool/coco128", min_height)
    items += _coco_boxes(d / "pool/coco-boxes/person_boxes.json", d / "pool/coco-boxes/images", min_height, False)
    people = _coco_boxes(d / "people/person_boxes.json", d / "people/images", 416 / 4, False)
    rng = np.random.default_rng(seed)
    rng.shuffle(people)
    n = 0
    for it in people:
        if n >= people_max:
            break
        items.append(it)
        n += len(it["boxes"])
    return items


# ----------------------------------------------------------------------------- precompute
class _Trunk:
    """The student's backbone + neck as one module (its features feed the heads)."""

    def __new__(cls, model):
        import torch

        class Trunk(torch.nn.Module):
            def __init__(self, m) -> None:
                super().__init__()
                self.backbone, self.neck = m.backbone, m.neck

            def forward(self, x):
                return self.neck(self.backbone(x))[-1]

        return Trunk(model).eval()


def resample_to_grid(maps: np.ndarray, size: int) -> np.ndarray:
    """Maps [..., H, W] on a stride grid -> [..., size, size] on a coarser grid of the same
    crop (cell j of the new grid sits at ``j * H / size`` of the old: MoveNet places a cell
    at its top-left pixel), bilinear."""
    h = maps.shape[-1]
    t = np.arange(size, dtype=np.float64) * h / size
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, h - 1)
    f = (t - i0).astype(np.float32)
    rows = maps[..., i0, :] * (1 - f)[:, None] + maps[..., i1, :] * f[:, None]
    return rows[..., i0] * (1 - f) + rows[..., i1] * f


def precompute(teacher: str, student: str, out: str, shared: Path, people_max: int = 2000,
               min_height: float = 64.0, seed: int = 0, batch: int = 16, threads: int = 2,
               max_crops: int | None = None) -> dict[str, Any]:
    """Write the distillation targets (see the module docstring) to ``out`` (.npz)."""
    import tempfile

    from engines.onnxruntime import OrtEngine
    from poselive.labeling.hashing import EvalLeakError, ExclusionSet, default_exclude_dirs, image_hashes
    from poselive.models import load_model
    from poselive.models.export import export_onnx

    t_model, t_spec = load_model(teacher)
    s_model, s_spec = load_model(student)
    if t_spec["codec"]["type"] != "movenet" or s_spec["codec"]["type"] != "movenet":
        raise ConfigError("movenet distillation needs MoveNet-architecture teacher and student checkpoints")
    padding = float(s_spec.get("box_padding", 1.25))
    ts, ss = int(t_spec["input_size"][0]), int(s_spec["input_size"][0])
    hs = ss // 4
    tmp = Path(tempfile.mkdtemp(prefix="distill-"))
    t_eng = OrtEngine(export_onnx(t_model, tmp / "teacher.onnx", spec=t_spec), threads=threads)
    trunk = _Trunk(s_model)
    f_eng = OrtEngine(export_onnx(trunk, tmp / "trunk.onnx", spec={**s_spec, "outputs": ["features"]}),
                      threads=threads)
    s_eng = OrtEngine(export_onnx(s_model, tmp / "student.onnx", spec=s_spec), threads=threads)
    t_codec, s_codec = build_codec(t_spec["codec"]), build_codec(s_spec["codec"])
    guard = ExclusionSet.from_dirs(default_exclude_dirs(shared))
    if len(guard) == 0:
        raise ConfigError("the evaluation guard found no coco-mini/val2017 images to exclude; set POSELIVE_SHARED")

    def tensor(crops: np.ndarray) -> np.ndarray:
        x = crops[..., ::-1].astype(np.float32).transpose(0, 3, 1, 2)
        return (x - 127.5) / 127.5

    items = gather_sources(shared, people_max, min_height, seed)
    crops, t_heat, t_kpts, s_center, s_cidx, s_reg, gts, srcs = [], [], [], [], [], [], [], []
    feats: list[np.ndarray] = []
    skipped = 0
    pending: list[tuple] = []

    def flush() -> None:
        if not pending:
            return
        sc = np.stack([p[0] for p in pending])
        tc = np.stack([p[1] for p in pending])
        tm = t_eng.run({"input": tensor(tc)})
        tmaps = [tm[n] for n in t_spec["outputs"]]
        tk, tsc = t_codec.decode(*tmaps)
        sm = s_eng.run({"input": tensor(sc)})
        smaps = [sm[n] for n in s_spec["outputs"]]
        center = smaps[0][:, 0]
        ci = (center * s_codec.center_prior).reshape(len(sc), -1).argmax(1)
        reg = smaps[2][np.arange(len(sc)), :, ci // hs, ci % hs]
        crops.append(sc)
        feats.append(f_eng.run({"input": tensor(sc)})["features"].astype(np.float16))
        t_heat.append(resample_to_grid(tmaps[1], hs).astype(np.float16))
        t_kpts.append(np.concatenate([tk * (ss / ts), tsc[..., None]], -1).astype(np.float32))
        s_center.append(center.astype(np.float16))
        s_cidx.append(ci.astype(np.int32))
        s_reg.append(reg.astype(np.float32))
        gts.append(np.stack([p[2] for p in pending]))
        srcs.extend(p[3] for p in pending)
        pending.clear()

    for k, it in enumerate(items):
        if max_crops is not None and sum(len(c) for c in crops) + len(pending) >= max_crops:
            break
        fh, ph, image = image_hashes(it["image"])
        if image is None:
            continue
        if guard.match(fh, ph):
            skipped += 1  # an evaluation image: never trained on
            continue
        boxes = np.asarray(it["boxes"], np.float32)
        centers, scales = geometry.box_xyxy_to_center_scale(boxes, padding)
        scales = geometry.fix_aspect_ratio(scales, 1.0)
        for b in range(len(boxes)):
            s_crop = geometry.crop_image_to_input(image, centers[b], scales[b], (ss, ss))
            t_crop = geometry.crop_image_to_input(image, centers[b], scales[b], (ts, ts))
            kp = np.asarray(it["kpts"][b], np.float32)
            gt = np.zeros((17, 3), np.float32)
            if kp[:, 2].any():
                m = geometry.image_to_input_matrix(centers[b], scales[b], (ss, ss))
                gt[:, :2] = geometry.apply_affine(kp[:, :2], m)
                gt[:, 2] = kp[:, 2] > 0
            pending.append((s_crop, t_crop, gt, it["image"]))
            if len(pending) >= batch:
                flush()
        if k % 50 == 0:
            print(f"[distill] {k}/{len(items)} images, {sum(len(c) for c in crops)} crops", flush=True)
    flush()
    if skipped and not crops:
        raise EvalLeakError("every training image is an evaluation image")
    arrays = {"crops": np.concatenate(crops), "teacher_heatmaps": np.concatenate(t_heat),
              "teacher_keypoints": np.concatenate(t_kpts), "start_center": np.concatenate(s_center),
              "start_center_index": np.concatenate(s_cidx), "start_regression": np.concatenate(s_reg),
              "gt_keypoints": np.concatenate(gts), "features": np.concatenate(feats)}
    meta = {"teacher": str(teacher), "student": str(student), "padding": padding, "crops": int(len(arrays["crops"])),
            "images": len(set(srcs)), "skipped_eval_images": skipped, "people_max": people_max,
            "min_height": min_height, "gt_persons": int((arrays["gt_keypoints"][..., 2].sum(-1) > 0).sum())}
    np.savez(out, meta=json.dumps(meta), sources=np.array(srcs), **arrays)
    return meta


# ----------------------------------------------------------------------------- training set
class MoveNetDistillSet:
    """The precomputed crops as training samples for the ``movenet`` loss.

    Targets: the start model's centre map and regression (anchors), the teacher's keypoint
    heatmaps, and offsets in a 3 x 3 neighbourhood of each keypoint's cell; a keypoint's
    position is the real label where COCO has one (then its heatmap is a Gaussian there,
    scaled to the teacher's peak), else the teacher's when it scores at least
    ``min_teacher_score``.
    """

    def __init__(self, path: str | Path, spec: dict, min_teacher_score: float = 0.2, sigma: float = 1.0,
                 limit: int | None = None, inputs: str = "images") -> None:
        if inputs not in ("images", "features"):
            raise ConfigError(f"movenet_distill inputs must be 'images' or 'features', not '{inputs}'")
        data = np.load(path)
        self.meta = json.loads(str(data["meta"]))
        n = len(data["crops"]) if limit is None else min(limit, len(data["crops"]))
        keys = ["crops", "teacher_heatmaps", "teacher_keypoints", "start_center", "start_center_index",
                "start_regression", "gt_keypoints"] + (["features"] if inputs == "features" else [])
        self.arrays = {k: data[k][:n] for k in keys}
        # "features": the frozen backbone + neck's output, precomputed; only the heads train.
        self.feeds = inputs
        self.codec = build_codec(spec["codec"])
        self.size = int(spec["input_size"][0])
        if self.arrays["crops"].shape[1] != self.size:
            raise ConfigError(f"{path} holds {self.arrays['crops'].shape[1]}px crops but the model takes {self.size}px")
        self.mean = np.asarray(spec.get("mean", [127.5] * 3), np.float32)
        self.std = np.asarray(spec.get("std", [127.5] * 3), np.float32)
        self.min_teacher_score = float(min_teacher_score)
        self.sigma = float(sigma)

    def __len__(self) -> int:
        return len(self.arrays["crops"])

    def __getitem__(self, i: int) -> dict:
        a = self.arrays
        if self.feeds == "features":
            x = a["features"][i].astype(np.float32)
        else:
            x = ((a["crops"][i][..., ::-1].astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1)
        k = a["teacher_keypoints"].shape[1]
        h = w = self.size // 4
        stride = self.size / h
        heat = a["teacher_heatmaps"][i].astype(np.float32)
        gt = a["gt_keypoints"][i]
        tk = a["teacher_keypoints"][i]
        offsets = np.zeros((2 * k, h, w), np.float32)
        mask = np.zeros((k, h, w), np.float32)
        for j in range(k):
            if gt[j, 2] > 0 and (0 <= gt[j, 0] < self.size) and (0 <= gt[j, 1] < self.size):
                px, py = gt[j, 0] / stride, gt[j, 1] / stride
                peak = float(heat[j].max())
                heat[j] = np.maximum(self.codec._gaussian(int(py), int(px), self.sigma) * peak, 0)
            elif tk[j, 2] >= self.min_teacher_score:
                px, py = tk[j, 0] / stride, tk[j, 1] / stride
            else:
                continue
            ix, iy = int(np.floor(px)), int(np.floor(py))
            for yy in range(max(iy - 1, 0), min(iy + 2, h)):
                for xx in range(max(ix - 1, 0), min(ix + 2, w)):
                    offsets[2 * j, yy, xx] = py - yy
                    offsets[2 * j + 1, yy, xx] = px - xx
                    mask[j, yy, xx] = 1.0
        reg = np.zeros((2 * k, h, w), np.float32)
        reg_mask = np.zeros((1, h, w), np.float32)
        ci = int(a["start_center_index"][i])
        reg[:, ci // w, ci % w] = a["start_regression"][i]
        reg_mask[0, ci // w, ci % w] = 1.0
        targets = {"center_heatmap": a["start_center"][i][None].astype(np.float32), "keypoint_heatmaps": heat,
                   "keypoint_regression": reg, "keypoint_offsets": offsets, "offset_mask": mask,
                   "regression_mask": reg_mask}
        return {"inputs": np.ascontiguousarray(x), "targets": targets,
                "weights": np.ones(k, np.float32)}


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(description="precompute MoveNet distillation targets (teacher maps, anchors)")
    p.add_argument("--teacher", required=True, help="teacher checkpoint (e.g. the imported movenet-thunder.pt)")
    p.add_argument("--student", required=True, help="student start checkpoint (e.g. the imported movenet-lightning.pt)")
    p.add_argument("--out", required=True, help=".npz to write")
    p.add_argument("--shared", default=os.environ.get("POSELIVE_SHARED", "../shared"))
    p.add_argument("--people-max", type=int, default=2000, help="boxes taken from people/ (random, seeded)")
    p.add_argument("--min-height", type=float, default=64.0, help="smallest COCO box height (px) used")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-crops", type=int, default=None, help="stop after this many crops (quick tries)")
    a = p.parse_args(argv)
    meta = precompute(a.teacher, a.student, a.out, Path(a.shared), a.people_max, a.min_height, a.seed,
                      threads=a.threads, max_crops=a.max_crops)
    print(json.dumps(meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
