"""COCO-style AP/AR for keypoints (OKS) and boxes (IoU), numpy only.

A re-implementation of the published COCO evaluation protocol (the one pycocotools'
``COCOeval`` runs): greedy per-image matching at ten thresholds 0.50:0.05:0.95, crowd and
"ignore" ground truth, area ranges, 101-point interpolated precision. It is written so
that inference-side tools (``poselive eval``) need neither pycocotools nor torch; the tests
check it against pycocotools to 1e-4.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from poselive.errors import ConfigError

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
_AREAS = {"all": (0.0, 1e10), "small": (0.0, 32.0 ** 2), "medium": (32.0 ** 2, 96.0 ** 2),
          "large": (96.0 ** 2, 1e10)}

# (name, is-AP, iou threshold or None, area, max-dets index)
KEYPOINT_STATS = (
    ("AP", True, None, "all"), ("AP50", True, 0.5, "all"), ("AP75", True, 0.75, "all"),
    ("APm", True, None, "medium"), ("APl", True, None, "large"),
    ("AR", False, None, "all"), ("AR50", False, 0.5, "all"), ("AR75", False, 0.75, "all"),
    ("ARm", False, None, "medium"), ("ARl", False, None, "large"),
)
BOX_STATS = (
    ("AP", True, None, "all", 100), ("AP50", True, 0.5, "all", 100),
    ("AP75", True, 0.75, "all", 100), ("APs", True, None, "small", 100),
    ("APm", True, None, "medium", 100), ("APl", True, None, "large", 100),
    ("AR1", False, None, "all", 1), ("AR10", False, None, "all", 10),
    ("AR100", False, None, "all", 100), ("ARs", False, None, "small", 100),
    ("ARm", False, None, "medium", 100), ("ARl", False, None, "large", 100),
)


def load_json(path_or_obj: Any) -> Any:
    """A parsed JSON object from a path, or the object itself."""
    if isinstance(path_or_obj, (str, Path)):
        p = Path(path_or_obj)
        if not p.is_file():
            raise ConfigError(f"annotation/results file not found: {p}; check the path")
        with open(p) as f:
            return json.load(f)
    return path_or_obj


def _result_annotations(results: list[dict], iou_type: str, gt_images: set) -> list[dict]:
    """Detections with the derived fields COCO's loadRes adds (id, area, bbox)."""
    out = []
    for i, r in enumerate(results):
        r = dict(r)
        if r["image_id"] not in gt_images:
            raise ConfigError(f"result for image_id {r['image_id']} which is not in the ground truth; "
                              "evaluate results against the annotation file they were made for")
        r["id"] = i + 1
        r.setdefault("category_id", 1)
        r["iscrowd"] = 0
        if iou_type == "keypoints":
            kp = np.asarray(r["keypoints"], np.float64)
            x, y = kp[0::3], kp[1::3]
            x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
            r["area"] = (x1 - x0) * (y1 - y0)
            r["bbox"] = [x0, y0, x1 - x0, y1 - y0]
        else:
            b = r["bbox"]
            r["area"] = b[2] * b[3]
        out.append(r)
    return out


def _oks(dts: list[dict], gts: list[dict], sigmas: np.ndarray) -> np.ndarray:
    """OKS matrix [D, G]; unlabelled GT keypoints are skipped, as COCO does."""
    var = (sigmas * 2) ** 2
    ious = np.zeros((len(dts), len(gts)))
    dk = np.array([d["keypoints"] for d in dts], np.float64).reshape(len(dts), -1, 3)
    for j, gt in enumerate(gts):
        g = np.asarray(gt["keypoints"], np.float64).reshape(-1, 3)
        if g.shape[0] != len(sigmas):
            raise ConfigError(f"ground truth has {g.shape[0]} keypoints but {len(sigmas)} OKS sigmas "
                              "were given; pick the keypoint set that matches the annotations")
        xg, yg, vg = g[:, 0], g[:, 1], g[:, 2]
        labelled = vg > 0
        bx, by, bw, bh = gt["bbox"]
        x0, x1, y0, y1 = bx - bw, bx + bw * 2, by - bh, by + bh * 2
        xd, yd = dk[:, :, 0], dk[:, :, 1]
        if labelled.any():
            dx, dy = xd - xg, yd - yg
        else:
            # No labelled keypoints: distance to a box twice the GT box's size.
            dx = np.maximum(0, x0 - xd) + np.maximum(0, xd - x1)
            dy = np.maximum(0, y0 - yd) + np.maximum(0, yd - y1)
        e = (dx ** 2 + dy ** 2) / var / (gt["area"] + np.spacing(1)) / 2
        if labelled.any():
            e = e[:, labelled]
        ious[:, j] = np.exp(-e).sum(1) / e.shape[1]
    return ious


def _box_iou(dts: list[dict], gts: list[dict]) -> np.ndarray:
    """IoU matrix [D, G] of xywh boxes; for crowd GT the union is the detection's area."""
    d = np.array([x["bbox"] for x in dts], np.float64).reshape(-1, 4)
    g = np.array([x["bbox"] for x in gts], np.float64).reshape(-1, 4)
    crowd = np.array([x.get("iscrowd", 0) for x in gts], bool)
    ix = np.minimum(d[:, None, 0] + d[:, None, 2], g[None, :, 0] + g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0])
    iy = np.minimum(d[:, None, 1] + d[:, None, 3], g[None, :, 1] + g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = ix.clip(min=0) * iy.clip(min=0)
    ad = (d[:, 2] * d[:, 3])[:, None]
    ag = (g[:, 2] * g[:, 3])[None, :]
    union = np.where(crowd[None, :], ad, ad + ag - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _evaluate_image(gts: list[dict], dts: list[dict], ious: np.ndarray, area: tuple[float, float],
                    max_det: int) -> dict | None:
    """Greedy matching of one image/category in one area range (COCO's evaluateImg)."""
    if not gts and not dts:
        return None
    ignore = np.array([1 if (g["_ignore"] or g["area"] < area[0] or g["area"] > area[1]) else 0
                       for g in gts], np.int64)
    gt_order = np.argsort(ignore, kind="mergesort")
    gts = [gts[i] for i in gt_order]
    ignore = ignore[gt_order]
    dt_order = np.argsort([-d["score"] for d in dts], kind="mergesort")
    dts = [dts[i] for i in dt_order[:max_det]]
    crowd = [int(g.get("iscrowd", 0)) for g in gts]
    ious = ious[:, gt_order] if len(ious) else ious
    T, G, D = len(IOU_THRESHOLDS), len(gts), len(dts)
    gtm = np.zeros((T, G))
    dtm = np.zeros((T, D))
    dt_ig = np.zeros((T, D))
    if len(ious):
        for ti, t in enumerate(IOU_THRESHOLDS):
            for di, d in enumerate(dts):
                best = min(t, 1 - 1e-10)
                m = -1
                for gi in range(G):
                    if gtm[ti, gi] > 0 and not crowd[gi]:
                        continue  # already matched, and not a crowd region
                    if m > -1 and ignore[m] == 0 and ignore[gi] == 1:
                        break  # matched a real GT; the rest are ignored ones
                    if ious[di, gi] < best:
                        continue
                    best = ious[di, gi]
                    m = gi
                if m == -1:
                    continue
                dt_ig[ti, di] = ignore[m]
                dtm[ti, di] = gts[m]["id"]
                gtm[ti, m] = d["id"]
    out_of_range = np.array([d["area"] < area[0] or d["area"] > area[1] for d in dts]).reshape(1, D)
    dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(out_of_range, T, 0)))
    return {"dt_matches": dtm, "dt_scores": np.array([d["score"] for d in dts]), "gt_ignore": ignore,
            "dt_ignore": dt_ig}


def coco_evaluate(gt: Any, results: Any, iou_type: str = "keypoints", sigmas: Iterable[float] | None = None,
                  cat_ids: Iterable[int] | None = None, max_dets: Iterable[int] | None = None) -> dict[str, float]:
    """COCO AP/AR of ``results`` (COCO results list or path) against ``gt`` (COCO json or path).

    ``iou_type`` is "keypoints" (OKS with ``sigmas``, one per keypoint) or "bbox". ``cat_ids``
    restricts the categories (default: all categories of the ground truth). Returns the
    standard summary numbers by name (AP, AP50, AP75, APm, APl, AR, ... for keypoints;
    AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl for boxes); -1 where
    undefined, as COCO reports it.
    """
    gt = load_json(gt)
    results = load_json(results)
    if iou_type not in ("keypoints", "bbox"):
        raise ConfigError(f"iou_type must be 'keypoints' or 'bbox', not '{iou_type}'")
    if iou_type == "keypoints":
        if sigmas is None:
            raise ConfigError("keypoint evaluation needs the keypoint set's OKS sigmas")
        sig = np.asarray(list(sigmas), np.float64)
    img_ids = sorted({im["id"] for im in gt["images"]})
    cats = sorted(set(cat_ids) if cat_ids is not None else {c["id"] for c in gt.get("categories", [])})
    if max_dets is None:
        max_dets = [20] if iou_type == "keypoints" else [1, 10, 100]
    max_dets = sorted(max_dets)
    area_names = ["all", "medium", "large"] if iou_type == "keypoints" else ["all", "small", "medium", "large"]
    areas = [_AREAS[a] for a in area_names]

    img_set, cat_set = set(img_ids), set(cats)
    gts_by: dict = defaultdict(list)
    dts_by: dict = defaultdict(list)
    for a in gt["annotations"]:
        if a["image_id"] in img_set and a["category_id"] in cat_set:
            a = copy.copy(a)
            ig = bool(a.get("ignore", 0)) or bool(a.get("iscrowd", 0))
            if iou_type == "keypoints":
                ig = ig or a.get("num_keypoints", 0) == 0
            a["_ignore"] = int(ig)
            gts_by[a["image_id"], a["category_id"]].append(a)
    for d in _result_annotations(list(results), iou_type, {im["id"] for im in gt["images"]}):
        if d["image_id"] in img_set and d["category_id"] in cat_set:
            dts_by[d["image_id"], d["category_id"]].append(d)

    # IoU/OKS per image and category, detections sorted by score and cut to the largest max-dets.
    ious: dict = {}
    for key in set(gts_by) | set(dts_by):
        g, d = gts_by.get(key, []), dts_by.get(key, [])
        if not g or not d:
            ious[key] = np.zeros((0, 0))
            continue
        order = np.argsort([-x["score"] for x in d], kind="mergesort")
        d = [d[i] for i in order[:max_dets[-1]]]
        ious[key] = _oks(d, g, sig) if iou_type == "keypoints" else _box_iou(d, g)

    T, R, K, A, M = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(cats), len(areas), len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, c in enumerate(cats):
        for a, rng in enumerate(areas):
            per_image = [_evaluate_image(gts_by.get((i, c), []), dts_by.get((i, c), []),
                                         ious.get((i, c), np.zeros((0, 0))), rng, max_dets[-1])
                         for i in img_ids]
            per_image = [e for e in per_image if e is not None]
            if not per_image:
                continue
            for m, md in enumerate(max_dets):
                scores = np.concatenate([e["dt_scores"][:md] for e in per_image])
                order = np.argsort(-scores, kind="mergesort")
                dtm = np.concatenate([e["dt_matches"][:, :md] for e in per_image], axis=1)[:, order]
                dt_ig = np.concatenate([e["dt_ignore"][:, :md] for e in per_image], axis=1)[:, order]
                gt_ig = np.concatenate([e["gt_ignore"] for e in per_image])
                npig = int(np.count_nonzero(gt_ig == 0))
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dt_ig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                tp_sum = np.cumsum(tps, axis=1).astype(np.float64)
                fp_sum = np.cumsum(fps, axis=1).astype(np.float64)
                for t in range(T):
                    tp, fp = tp_sum[t], fp_sum[t]
                    nd = len(tp)
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    # Make precision monotonically decreasing (interpolated precision).
                    pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr
                    idx = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
                    q = np.zeros(R)
                    valid = idx < nd
                    q[valid] = pr[idx[valid]]
                    precision[t, :, k, a, m] = q

    def summarize(is_ap: bool, thr: float | None, area: str, md: int) -> float:
        ai = area_names.index(area)
        mi = max_dets.index(md)
        s = precision[..., ai, mi] if is_ap else recall[..., ai, mi]
        if thr is not None:
            s = s[np.where(np.isclose(IOU_THRESHOLDS, thr))[0]]
        s = s[s > -1]
        return float(s.mean()) if s.size else -1.0

    if iou_type == "keypoints":
        return {name: summarize(ap, thr, area, max_dets[-1]) for name, ap, thr, area in KEYPOINT_STATS}
    return {name: summarize(ap, thr, area, md) for name, ap, thr, area, md in BOX_STATS}


def keypoint_ap(gt: Any, results: Any, sigmas: Iterable[float]) -> dict[str, float]:
    """COCO keypoint AP/AR (OKS with the keypoint set's sigmas), person category."""
    return coco_evaluate(gt, results, "keypoints", sigmas=sigmas)


def box_ap(gt: Any, results: Any, cat_ids: Iterable[int] | None = (1,)) -> dict[str, float]:
    """COCO box AP/AR; by default for the person category (id 1) only."""
    return coco_evaluate(gt, results, "bbox", cat_ids=cat_ids)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: Iterable[float],
            threshold: float = 0.9) -> np.ndarray:
    """Greedy non-maximum suppression of poses by OKS; indices kept, best first.

    ``keypoints`` [N,K,2], ``scores`` [N] (person scores), ``areas`` [N] (e.g. box areas).
    Duplicate detections of one person give near-identical poses; keeping only the best
    avoids counting them as false positives (MMPose does this for detection-based AP).
    """
    kp = np.asarray(keypoints, np.float64)
    var = (np.asarray(list(sigmas), np.float64) * 2) ** 2
    order = np.argsort(-np.asarray(scores, np.float64), kind="mergesort")
    keep: list[int] = []
    for i in order:
        ok = True
        for j in keep:
            d2 = ((kp[i] - kp[j]) ** 2).sum(-1)
            area = (float(areas[i]) + float(areas[j])) / 2 + np.spacing(1)
            if np.exp(-d2 / var / area / 2).mean() > threshold:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return np.asarray(keep, np.int64)
