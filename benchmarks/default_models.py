"""The default-model bars, measured side by side in one run (issue 6, docs/default-models.md).

    python3 benchmarks/default_models.py [--det poselive/assets/poselive-det-nano.onnx]
        [--pose poselive/assets/poselive-pose-lightning.onnx]
        [--pose-accurate poselive/assets/poselive-pose-thunder.onnx]
        [--shared ../shared] [--threads 1] [--json OUT]

On coco-mini/val2017 (never trained on) it measures, for poselive's models and the teachers:

1. pose COCO AP with ground-truth boxes (poselive-pose-t, MoveNet Lightning, Thunder);
2. person-box AP of the detectors (poselive-det-nano, RTMDet-nano) at their input sizes;
3. whole-pipeline keypoint AP without ground-truth boxes: each detector's boxes at the
   pipeline's default threshold (0.3), then each pose model, OKS-NMS as ``poselive eval``;
4. CPU time on ONNX Runtime with ``--threads`` intra-op threads: model-only per crop / per
   image (batch 1) and adapter time (pre-processing + model + decoding) on the real crops
   and images, in interleaved rounds so that load from other processes hits all models
   alike; the median of the per-round medians is reported, and the ratios. Pose models
   are also timed the way the pose stage runs them: all persons of an image in one
   ``estimate`` call (batched where the model's batch is dynamic; the MoveNet teacher
   files take batch 1, so one engine call per person);
5. the pose stage per frame on ``vtest.avi`` (boxes from RTMDet-nano, computed once):
   the batched shipped model against the batch-1 Lightning teacher file;
6. the imports: ``poselive import`` of each MoveNet teacher, evaluated with the teacher
   adapter's crop (1.25x box), against the teacher file's AP (bar: within 0.005).

The load average is printed before and after: other processes on the machine slow all
models alike (interleaved rounds), but absolute times move with it.

Prints Markdown tables; ``--json`` writes every number.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engines import open_engine  # noqa: E402
from engines.bench import bench_model  # noqa: E402
from poselive.evaluation import box_ap  # noqa: E402
from poselive.stages.adapters import build_detector_adapter, build_pose_adapter  # noqa: E402
from trainer.evaluate import detector_results, evaluate  # noqa: E402

PIPELINE_DET_THRESHOLD = 0.3  # DetectorStage's default


def _median_of_rounds(fns: dict, rounds: int) -> dict:
    """Run each fn once per round, interleaved; the median over rounds of what each returns."""
    got: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            got[k].append(fn())
    return {k: float(np.median(v)) for k, v in got.items()}


def _adapter_time_per_crop(adapter, samples: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """ms per person of ``adapter.estimate`` called once per person (batch 1)."""
    t0 = time.perf_counter()
    n = 0
    for image, boxes in samples:
        for b in boxes:
            adapter.estimate(image, b[None])
            n += 1
    return (time.perf_counter() - t0) * 1e3 / max(1, n)


def _model_ms(engine, input_size: tuple[int, int] | None = None) -> float:
    """Median ms of one batch-1 ``engine.run`` (``engines.bench.bench_model``)."""
    return bench_model(engine, batch_sizes=(1,), warmup=3, iters=30, input_size=input_size)[0]["p50_ms"]


def _adapter_time_batched(adapter, samples: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """ms per person of ``adapter.estimate`` called once per image with all its persons."""
    t0 = time.perf_counter()
    n = 0
    for image, boxes in samples:
        adapter.estimate(image, boxes)
        n += len(boxes)
    return (time.perf_counter() - t0) * 1e3 / max(1, n)


def _stage_ms_per_frame(adapter, samples: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """ms per frame of the pose stage's work (one ``estimate`` with all the frame's boxes)."""
    t0 = time.perf_counter()
    for image, boxes in samples:
        adapter.estimate(image, boxes)
    return (time.perf_counter() - t0) * 1e3 / max(1, len(samples))


def _import_check(teachers: Path, kp_ann: Path, val: Path, threads: int) -> dict:
    """``poselive import`` of each MoveNet teacher, evaluated with the teacher adapter's 1.25x crop."""
    import tempfile

    from poselive.models.export import export_onnx
    from poselive.models.importers import import_file
    from poselive.models import load_model
    from trainer.evaluate import evaluate_estimator

    tmp = Path(tempfile.mkdtemp(prefix="import-check-"))
    out = {}
    for v in ("lightning", "thunder"):
        src = teachers / f"movenet-{v}.onnx"
        model, spec = load_model(import_file(src, tmp / f"{v}.pt"))
        engine = open_engine(export_onnx(model, tmp / f"{v}.onnx", spec=spec), threads=threads)
        m, _ = evaluate_estimator(build_pose_adapter(engine, padding=1.25).estimate, kp_ann, val, "coco17")
        out[f"movenet-{v}"] = m["AP"]
    return out


def _adapter_time_per_image(adapter, images: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    for im in images:
        adapter.detect(im)
    return (time.perf_counter() - t0) * 1e3 / max(1, len(images))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--det", default=str(ROOT / "poselive/assets/poselive-det-nano.onnx"))
    ap.add_argument("--pose", default=str(ROOT / "poselive/assets/poselive-pose-lightning.onnx"),
                    help="the default (fast) pose model")
    ap.add_argument("--pose-accurate", default=str(ROOT / "poselive/assets/poselive-pose-thunder.onnx"),
                    help="the accurate pose model (skipped when the file is absent)")
    ap.add_argument("--video-frames", type=int, default=100, help="vtest.avi frames for the pose-stage timing")
    ap.add_argument("--no-import-check", action="store_true", help="skip the import-vs-source AP check")
    ap.add_argument("--shared", default=os.environ.get("POSELIVE_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", help="write all numbers here")
    a = ap.parse_args(argv)

    shared = Path(a.shared)
    teachers = shared / "data/teachers"
    val = shared / "data/coco-mini/val2017"
    kp_ann = shared / "data/coco-mini/annotations/person_keypoints_val2017.json"
    box_ann = shared / "data/coco-mini/annotations/instances_val2017.json"
    for p in (a.det, a.pose, teachers, val, kp_ann, box_ann):
        if not Path(p).exists():
            print(f"missing: {p}", file=sys.stderr)
            return 2
    pose_name = Path(a.pose).stem
    poses = {pose_name: a.pose}
    if Path(a.pose_accurate).is_file() and Path(a.pose_accurate) != Path(a.pose):
        poses[Path(a.pose_accurate).stem] = a.pose_accurate
    poses.update({"MoveNet Lightning": str(teachers / "movenet-lightning.onnx"),
                  "MoveNet Thunder": str(teachers / "movenet-thunder.onnx")})
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", file=sys.stderr)
    dets = {"poselive-det-nano": a.det, "RTMDet-nano (teacher)": str(teachers / "rtmdet-nano-person.onnx")}
    out: dict = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                             "ort_threads": a.threads, "load_before": load_before},
                 "pose_gt_boxes": {}, "detector": {}, "pipeline": {}, "time": {}, "imports": {}, "video": {}}

    # 1. pose AP with ground-truth boxes
    for name, path in poses.items():
        m = evaluate(path, kp_ann, val, progress=False)
        out["pose_gt_boxes"][name] = {k: m[k] for k in ("AP", "AP50", "AP75", "AR")}
        print(f"[pose] {name}: AP {m['AP']:.4f}", file=sys.stderr, flush=True)

    # 2. detector box AP (all scores), and the pipeline's boxes (score >= 0.3)
    boxes_coco = json.loads(box_ann.read_text())
    det_results: dict = {}
    for name, path in dets.items():
        res = detector_results(path, boxes_coco, val, score_threshold=0.001, threads=a.threads)
        m = box_ap(boxes_coco, res, cat_ids=[1])
        out["detector"][name] = {k: m[k] for k in ("AP", "AP50", "AP75", "AR100")}
        det_results[name] = [r for r in res if r["score"] >= PIPELINE_DET_THRESHOLD]
        print(f"[det] {name}: box AP {m['AP']:.4f}", file=sys.stderr, flush=True)

    # 3. whole pipeline: every detector x every pose model
    for dname, dres in det_results.items():
        for pname, ppath in poses.items():
            m = evaluate(ppath, kp_ann, val, det_results=dres, progress=False)
            out["pipeline"][f"{dname} + {pname}"] = {k: m[k] for k in ("AP", "AP50", "AP75", "AR")}
            print(f"[pipeline] {dname} + {pname}: AP {m['AP']:.4f}", file=sys.stderr, flush=True)

    # 4. CPU time, interleaved rounds
    kp = json.loads(kp_ann.read_text())
    by_image: dict = {}
    for an in kp["annotations"]:
        if an.get("iscrowd", 0) or an.get("num_keypoints", 0) == 0:
            continue
        x, y, w, h = an["bbox"]
        by_image.setdefault(an["image_id"], []).append([x, y, x + w, y + h])
    names = {im["id"]: im["file_name"] for im in kp["images"]}
    crops = [(cv2.imread(str(val / names[i])), np.array(b, np.float32)) for i, b in sorted(by_image.items())][:40]
    images = [cv2.imread(str(val / im["file_name"])) for im in boxes_coco["images"]][:40]
    pose_engines = {n: open_engine(p, threads=a.threads) for n, p in poses.items()}
    det_engines = {n: open_engine(p, threads=a.threads) for n, p in dets.items()}
    pose_adapters = {n: build_pose_adapter(e) for n, e in pose_engines.items()}
    det_adapters = {n: build_detector_adapter(e, score_threshold=PIPELINE_DET_THRESHOLD) for n, e in det_engines.items()}
    for adapter in pose_adapters.values():  # warm-up
        _adapter_time_per_crop(adapter, crops[:3])
    fns = {}
    for n, e in pose_engines.items():
        fns[f"pose model {n}"] = lambda e=e: _model_ms(e)
        fns[f"pose adapter {n}"] = lambda ad=pose_adapters[n]: _adapter_time_per_crop(ad, crops)
        fns[f"pose batched {n}"] = lambda ad=pose_adapters[n]: _adapter_time_batched(ad, crops)
    for n, e in det_engines.items():
        # both detectors at 320x320, as the adapters run them (RTMDet's ONNX input is dynamic)
        fns[f"det model {n}"] = lambda e=e, size=det_adapters[n].pre.input_size: _model_ms(e, size)
        fns[f"det adapter {n}"] = lambda ad=det_adapters[n]: _adapter_time_per_image(ad, images)
    out["time"] = _median_of_rounds(fns, a.rounds)

    # 5. the pose stage per frame on vtest.avi: batched shipped model vs batch-1 teacher file
    video = shared / "data/videos/vtest.avi"
    if video.is_file() and a.video_frames > 0:
        frames = []
        cap = cv2.VideoCapture(str(video))
        while len(frames) < a.video_frames:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        cap.release()
        teacher_det = det_adapters["RTMDet-nano (teacher)"]
        samples = [(f, teacher_det.detect(f).boxes) for f in frames]
        samples = [(f, b) for f, b in samples if len(b)]
        vfns = {n: (lambda ad=pose_adapters[n]: _stage_ms_per_frame(ad, samples))
                for n in (pose_name, "MoveNet Lightning")}
        out["video"] = _median_of_rounds(vfns, a.rounds)
        out["video"]["frames"] = len(samples)
        out["video"]["persons_per_frame"] = float(np.mean([len(b) for _, b in samples]))
    out["time"]["persons_timed"] = sum(len(b) for _, b in crops)
    out["time"]["images_timed"] = len(images)

    t = out["time"]
    print(f"\nCPU: {out['machine']['cpu']}, {out['machine']['cores']} cores, ONNX Runtime {a.threads} thread(s), "
          f"median of {a.rounds} interleaved rounds\n")
    print("| pose model (GT boxes) | AP | AP50 | AR | model ms/crop (batch 1) | adapter ms/person, one call per person | adapter ms/person, all persons of an image per call |")
    print("|---|---|---|---|---|---|---|")
    for n, m in out["pose_gt_boxes"].items():
        cells = [t.get(f"pose {k} {n}") for k in ("model", "adapter", "batched")]
        print(f"| {n} | {m['AP']:.4f} | {m['AP50']:.4f} | {m['AR']:.4f} | "
              + " | ".join("" if c is None else f"{c:.2f}" for c in cells) + " |")
    print("\n| detector (320×320) | box AP | AP50 | AR100 | model ms/image | adapter ms/image |")
    print("|---|---|---|---|---|---|")
    for n, m in out["detector"].items():
        print(f"| {n} | {m['AP']:.4f} | {m['AP50']:.4f} | {m['AR100']:.4f} | "
              f"{t[f'det model {n}']:.2f} | {t[f'det adapter {n}']:.2f} |")
    print("\n| pipeline (boxes >= 0.3, no GT) | AP | AP50 | AR |")
    print("|---|---|---|---|")
    for n, m in out["pipeline"].items():
        print(f"| {n} | {m['AP']:.4f} | {m['AP50']:.4f} | {m['AR']:.4f} |")
    ratio_pose = t[f"pose batched {pose_name}"] / t["pose batched MoveNet Lightning"]
    ratio_det = t["det model poselive-det-nano"] / t["det model RTMDet-nano (teacher)"]
    out["ratios"] = {"pose_time_vs_lightning": ratio_pose, "det_time_vs_rtmdet": ratio_det,
                     "pose_ap_vs_lightning": out["pose_gt_boxes"][pose_name]["AP"]
                     / max(1e-9, out["pose_gt_boxes"]["MoveNet Lightning"]["AP"]),
                     "det_ap_vs_rtmdet": out["detector"]["poselive-det-nano"]["AP"]
                     / max(1e-9, out["detector"]["RTMDet-nano (teacher)"]["AP"])}
    if out["video"]:
        v = out["video"]
        print(f"\npose stage on vtest.avi ({v['frames']} frames, {v['persons_per_frame']:.1f} persons/frame, "
              f"RTMDet-nano boxes): {pose_name} batched {v[pose_name]:.1f} ms/frame, "
              f"MoveNet Lightning file (batch 1) {v['MoveNet Lightning']:.1f} ms/frame")
    if not a.no_import_check:
        out["imports"] = _import_check(teachers, kp_ann, val, a.threads)
        print("\n| import (1.25x crop, as the teacher adapter) | AP | source file AP | difference |")
        print("|---|---|---|---|")
        for v, ap_ in out["imports"].items():
            src = out["pose_gt_boxes"]["MoveNet " + v.split("-")[1].capitalize()]["AP"]
            print(f"| {v} | {ap_:.4f} | {src:.4f} | {ap_ - src:+.4f} |")
    pose_ap = out["pose_gt_boxes"][pose_name]["AP"]
    print(f"\npose AP (GT boxes): {pose_ap:.4f} (bar >= 0.40); pose CPU per person, batched, / Lightning's: "
          f"{ratio_pose:.2f} (bar <= 1.0)")
    print(f"det time / RTMDet (model only): {ratio_det:.2f} (bar <= 1.0); "
          f"det AP / RTMDet: {out['ratios']['det_ap_vs_rtmdet']:.2f} (bar >= 0.9)")
    load_after = os.getloadavg()
    out["machine"]["load_after"] = load_after
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
