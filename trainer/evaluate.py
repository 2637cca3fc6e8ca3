"""``poselive eval``: COCO keypoint AP of a model on an annotated image set, and person-box
AP of a detector. Metrics come from ``poselive.evaluation`` (numpy, checked against
pycocotools).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from poselive.errors import ConfigError
from poselive.evaluation import box_ap, keypoint_ap, oks_nms
from poselive.keypoints import KeypointSet, get_keypoint_set
from trainer.data.datasets import CocoKeypointDataset
from trainer.predict import EstimateFn, instance_score, open_pose_predictor, with_flip_test


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def predict_dataset(estimate: EstimateFn, dataset: CocoKeypointDataset, score_threshold: float | None = None,
                    progress: bool = False) -> list[dict]:
    """COCO keypoint results for every sample box of an eval-mode dataset, image by image
    (all persons of an image in one ``estimate`` call)."""
    return _predict(estimate, dataset, score_threshold, progress)[0]


def _predict(estimate: EstimateFn, dataset: CocoKeypointDataset, score_threshold: float | None,
             progress: bool) -> tuple[list[dict], list[float]]:
    """Results and, for each, the area of the box it was estimated in."""
    areas: list[float] = []
    by_image: dict[str, list[dict]] = defaultdict(list)
    for s in dataset.samples:
        by_image[s["image_path"]].append(s)
    results = []
    for path, samples in _progress(by_image.items(), len(by_image), "eval", progress):
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise ConfigError(f"cannot read image {path}; check the --images folder")
        boxes = np.stack([s["bbox"] for s in samples])
        kpts, scores = estimate(image, boxes)
        for s, k, sc in zip(samples, kpts, scores):
            kp = np.concatenate([k, sc[:, None]], 1).astype(np.float64)
            results.append({"image_id": s["image_id"], "category_id": 1, "keypoints": kp.ravel().tolist(),
                            "score": instance_score(s["bbox_score"], sc, score_threshold)})
            areas.append(float((s["bbox"][2] - s["bbox"][0]) * (s["bbox"][3] - s["bbox"][1])))
    return results, areas


def evaluate_estimator(estimate: EstimateFn, ann: str | Path | dict, images: str | Path,
                       keypoint_set: str | KeypointSet = "coco17", det_results: Any = None,
                       flip_test: bool = False, layout: str = "coco", score_threshold: float | None = None,
                       progress: bool = False, oks_nms_threshold: float | None = 0.9) -> tuple[dict[str, float], list[dict]]:
    """AP/AR of any ``estimate(image, boxes)`` function, and the COCO results it gave.

    With detection boxes, duplicate poses of one person are suppressed by OKS-NMS
    (``oks_nms_threshold``; None turns it off); ground-truth boxes need none.
    """
    kset = get_keypoint_set(keypoint_set) if isinstance(keypoint_set, str) else keypoint_set
    ds = CocoKeypointDataset(ann, images, kset, mode="eval", layout=layout, det_results=det_results)
    fn = with_flip_test(estimate, kset) if flip_test else estimate
    results, areas = _predict(fn, ds, score_threshold, progress)
    if det_results is not None and oks_nms_threshold:
        results = _oks_nms_per_image(results, areas, kset.sigmas_array(), oks_nms_threshold)
    if layout != "coco":
        raise ConfigError("OKS AP is computed on the 'keypoints' field; use layout 'coco' for evaluation")
    return keypoint_ap(ds.coco, results, kset.sigmas_array()), results


def _oks_nms_per_image(results: list[dict], areas: list[float], sigmas: np.ndarray, threshold: float) -> list[dict]:
    """Keep, per image, the poses that survive OKS-NMS (areas from the detection boxes)."""
    by_image: dict = defaultdict(list)
    for i, r in enumerate(results):
        by_image[r["image_id"]].append(i)
    keep_all = []
    for idx in by_image.values():
        kp = np.array([results[i]["keypoints"] for i in idx]).reshape(len(idx), -1, 3)[..., :2]
        keep = oks_nms(kp, [results[i]["score"] for i in idx], [areas[i] for i in idx], sigmas, threshold)
        keep_all.extend(idx[k] for k in keep)
    return [results[i] for i in sorted(keep_all)]


def evaluate(model_path: str | Path, ann: str | Path, images: str | Path, det_results: str | Path | None = None,
             flip_test: bool = False, out_json: str | Path | None = None, keypoint_set: str | None = None,
             score_threshold: float | None = None, progress: bool = True,
             extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """COCO keypoint AP/AR of a pose model (checkpoint or ONNX) on ``ann`` + ``images``.

    Persons come from the ground-truth boxes, or from ``det_results`` (a COCO results json
    with ``bbox`` and ``score``). Returns AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm,
    ARl plus ``persons`` and ``model``; with ``out_json`` the same dict is written there
    (and the keypoint results beside it as ``<out>.results.json``).
    """
    estimate, spec = open_pose_predictor(model_path)
    kset = keypoint_set or spec.get("keypoint_set", "coco17")
    metrics, results = evaluate_estimator(estimate, ann, images, kset, det_results=det_results, flip_test=flip_test,
                                          score_threshold=score_threshold, progress=progress)
    out: dict[str, Any] = dict(metrics)
    out.update({"persons": len(results), "model": str(model_path), "keypoint_set": str(kset),
                "boxes": "detections" if det_results else "ground truth", "flip_test": bool(flip_test)})
    out.update(extra or {})  # e.g. which detector gave the boxes
    if out_json:
        p = Path(out_json)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(out, indent=2))
        p.with_suffix(".results.json").write_text(json.dumps(results))
    return out


def detect_dataset(detect: Callable[[np.ndarray], Any], ann: str | Path | dict, images: str | Path,
                   progress: bool = False) -> list[dict]:
    """COCO box results (person, category 1) of ``detect(image) -> Detections`` on every image."""
    coco = json.loads(Path(ann).read_text()) if not isinstance(ann, dict) else ann
    results = []
    for im in _progress(coco["images"], len(coco["images"]), "detect", progress):
        image = cv2.imread(str(Path(images) / im["file_name"]), cv2.IMREAD_COLOR)
        if image is None:
            raise ConfigError(f"cannot read image {im['file_name']} in {images}")
        det = detect(image)
        for b, s in zip(det.boxes, det.scores):
            results.append({"image_id": im["id"], "category_id": 1, "score": float(s),
                            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    return results


def detector_results(model_path: str | Path, ann: str | Path | dict, images: str | Path,
                     score_threshold: float = 0.001, progress: bool = False, threads: int | None = None) -> list[dict]:
    """COCO box results of a detector (ONNX, checkpoint or engine) on every image of ``ann``."""
    from engines import open_engine
    from poselive.stages.adapters import build_detector_adapter

    adapter = build_detector_adapter(open_engine(model_path, threads=threads), score_threshold=score_threshold)
    coco = json.loads(Path(ann).read_text()) if not isinstance(ann, dict) else ann
    return detect_dataset(adapter.detect, coco, images, progress)


def evaluate_detector(model_path: str | Path, ann: str | Path, images: str | Path, out_json: str | Path | None = None,
                      score_threshold: float = 0.001, progress: bool = True) -> dict[str, Any]:
    """COCO person-box AP/AR of a detector (ONNX) on a COCO instances/keypoints json.

    A low ``score_threshold`` is used on purpose: AP integrates over all scores, and a
    deployment threshold would cut the low-precision tail off the curve.
    """
    coco = json.loads(Path(ann).read_text())
    results = detector_results(model_path, coco, images, score_threshold, progress)
    out: dict[str, Any] = dict(box_ap(coco, results, cat_ids=[1]))
    out.update({"detections": len(results), "model": str(model_path)})
    if out_json:
        Path(out_json).write_text(json.dumps(out, indent=2))
    return out


def is_detector(model_path: str | Path) -> bool:
    """True when a model file is a person detector (its spec says so, or, for external
    ONNX models, its outputs are detector outputs: ``dets``/``boxes``)."""
    from engines import open_engine

    engine = open_engine(model_path, threads=1)
    task = (getattr(engine, "spec", None) or {}).get("task")
    if task:
        return task == "detector"
    names = {o.name for o in engine.outputs}
    return bool(names & {"dets", "boxes", "bboxes"})


def evaluate_detector_model(model: Any, spec: dict, dataset: Any, device: Any = "cpu", score_threshold: float = 0.001,
                            iou_threshold: float = 0.6, max_dets: int = 100) -> dict[str, float]:
    """Person-box AP of a torch detector (``model(x) -> boxes, scores``, NMS outside) on a
    ``PersonBoxDataset``: top-left letterbox, greedy NMS, boxes mapped back to the image.

    The ground truth is the dataset's own boxes (areas are box areas, unlike COCO's
    segment areas, so APs/APm/APl split slightly differently from ``evaluate_detector``).
    """
    import torch

    from poselive.geometry import input_to_image_boxes, letterbox, nms
    from trainer.data.datasets import load_image_and_boxes
    from trainer.data.transforms import normalize_image

    size = tuple(int(v) for v in spec["input_size"])
    mean, std = spec.get("mean", (123.675, 116.28, 103.53)), spec.get("std", (58.395, 57.12, 57.375))
    results, pixel_boxes = [], {}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(len(dataset)):
            s = load_image_and_boxes(dict(dataset.items[i]))
            pixel_boxes[i] = s["boxes"]
            img, ratio, offset = letterbox(s["image"], size, int(spec.get("pad_value", 114)))
            x = torch.from_numpy(normalize_image(img, mean, std, spec.get("channel_order", "rgb"))[None]).to(device)
            boxes, scores = model(x)
            boxes, scores = boxes[0].float().cpu().numpy(), scores[0].float().cpu().numpy()
            keep = scores >= score_threshold
            boxes, scores = boxes[keep], scores[keep]
            keep = nms(boxes, scores, iou_threshold)[:max_dets]
            h, w = s["image"].shape[:2]
            out = input_to_image_boxes(boxes[keep], ratio, offset, (w, h))
            for b, sc in zip(out, scores[keep]):
                results.append({"image_id": i, "category_id": 1, "score": float(sc),
                                "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    model.train(was_training)
    return box_ap(dataset.to_coco(pixel_boxes), results, cat_ids=[1])
