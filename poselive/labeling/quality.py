"""Quality of pseudo-labels where official keypoints exist (e.g. coco-mini/train2017).

``python -m poselive.labeling.quality PSEUDO.json GT.json`` prints the numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from poselive.geometry import box_iou
from poselive.keypoints import get_keypoint_set


def _by_name(coco: dict) -> dict[str, list[dict]]:
    names = {im["id"]: Path(im["file_name"]).name for im in coco["images"]}
    out: dict[str, list[dict]] = defaultdict(list)
    for a in coco["annotations"]:
        out[names[a["image_id"]]].append(a)
    return out


def _xyxy(b: list[float]) -> np.ndarray:
    return np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], np.float32)


def compare_to_ground_truth(pseudo: str | Path | dict, gt: str | Path | dict, iou: float = 0.5,
                            keypoint_set: str = "coco17") -> dict:
    """Match pseudo-labelled persons to official keypoint annotations and score them.

    Persons are matched greedily by box IoU >= ``iou`` (images by file name). Returned:
    ``recovered`` (fraction of official persons with labelled keypoints that got a
    pseudo-label, over the images present in both files), ``recovered_10kp`` (the same for
    persons with >= 10 labelled keypoints), ``oks_mean`` (COCO OKS over the official
    keypoints; a pseudo-label's dropped v=0 points count as misses), ``oks_accepted_mean``
    (OKS over the points both label), ``precision`` (pseudo-labels that match an official
    person), and ``kpt_precision`` (accepted pseudo keypoints that the official label also
    marks).
    """
    p = json.loads(Path(pseudo).read_text()) if not isinstance(pseudo, dict) else pseudo
    g = json.loads(Path(gt).read_text()) if not isinstance(gt, dict) else gt
    sig = get_keypoint_set(keypoint_set).sigmas_array()
    k2 = (2 * sig) ** 2
    pp, gg = _by_name(p), _by_name(g)
    # Images labelled in the pseudo set, plus images it dropped (no accepted person): the
    # pseudo json only lists images it kept, so recall is over every GT image name.
    common = set(gg)
    n_gt = n_gt10 = n_rec = n_rec10 = n_pred = n_pred_matched = 0
    oks_all: list[float] = []
    oks_acc: list[float] = []
    kp_acc = kp_acc_ok = 0
    for name in sorted(common):
        gts = [a for a in gg[name] if not a.get("iscrowd", 0) and a.get("num_keypoints", 0) > 0]
        preds = pp.get(name, [])
        n_pred += len(preds)
        n_gt += len(gts)
        n_gt10 += sum(a["num_keypoints"] >= 10 for a in gts)
        if not gts or not preds:
            continue
        ious = box_iou(np.stack([_xyxy(a["bbox"]) for a in gts]), np.stack([_xyxy(a["bbox"]) for a in preds]))
        used: set[int] = set()
        for gi in np.argsort(-ious.max(1)):
            cands = [j for j in np.argsort(-ious[gi]) if j not in used and ious[gi, j] >= iou]
            if not cands:
                continue
            j = int(cands[0])
            used.add(j)
            ga, pa = gts[gi], preds[j]
            n_rec += 1
            n_rec10 += ga["num_keypoints"] >= 10
            gk = np.asarray(ga["keypoints"], np.float32).reshape(-1, 3)
            pk = np.asarray(pa["keypoints"], np.float32).reshape(-1, 3)
            gv, pv = gk[:, 2] > 0, pk[:, 2] > 0
            e = np.exp(-((gk[:, :2] - pk[:, :2]) ** 2).sum(1) / (2 * max(float(ga["area"]), 1.0) * k2))
            oks_all.append(float(np.where(pv, e, 0.0)[gv].mean()))
            both = gv & pv
            if both.any():
                oks_acc.append(float(e[both].mean()))
            kp_acc += int(pv.sum())
            kp_acc_ok += int(both.sum())
        n_pred_matched += len(used)
    f = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    return {"gt_persons": n_gt, "gt_persons_10kp": n_gt10, "pseudo_persons": n_pred,
            "recovered": f(n_rec, n_gt), "recovered_10kp": f(n_rec10, n_gt10),
            "precision": f(n_pred_matched, n_pred),
            "oks_mean": round(float(np.mean(oks_all)), 4) if oks_all else None,
            "oks_accepted_mean": round(float(np.mean(oks_acc)), 4) if oks_acc else None,
            "kpt_precision": f(kp_acc_ok, kp_acc)}


def main(argv: list[str] | None = None) -> int:
    """Print ``compare_to_ground_truth`` for two json files."""
    ap = argparse.ArgumentParser(description=compare_to_ground_truth.__doc__.splitlines()[0])
    ap.add_argument("pseudo")
    ap.add_argument("gt")
    ap.add_argument("--iou", type=float, default=0.5)
    a = ap.parse_args(argv)
    print(json.dumps(compare_to_ground_truth(a.pseudo, a.gt, a.iou), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
