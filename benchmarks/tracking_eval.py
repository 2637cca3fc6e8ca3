"""Tracking and smoothing measurements for docs/tracking.md.

    python3 benchmarks/tracking_eval.py [--shared ../shared] [--json out.json] [--quick]

1. MOT metrics (motmetrics: MOTA, IDF1, ID switches) of PoseTracker on simulated crowds
   (crossing scenario, a denser crossing, and a plaza where people also leave and come back),
   fused IoU+OKS against IoU only, and two detector-score thresholds.
2. The same on the real PoseTrack18 fragment (ground-truth IDs, real detections of its
   one annotated crowd frame) seen through a moving virtual camera.
3. One-Euro smoothing: jitter reduction on a still pose and lag at constant speed for a
   few parameter sets, the defaults first.
4. Tracker cost per frame.
5. Detection interval on real video (vtest.avi) with the teacher detector and MoveNet
   Lightning, run stage after stage in one thread (no graph): time per frame and mean
   OKS of the poses with interval N against interval 1 (``mean_oks_between_runs``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from poselive.tracking import OneEuroFilter, PoseTracker  # noqa: E402
from poselive.tracking.evaluate import load_posetrack_frames, mot_scores, run_tracker_on  # noqa: E402
from poselive.tracking.simulate import animate_annotated_frame, simulate_plaza, skeleton_at  # noqa: E402

CONFIGS = {
    "IoU+OKS (default)": {},
    "IoU only": {"oks_weight": 0.0},
    "IoU+OKS, thresholds 0.3": {"high_threshold": 0.3, "new_track_threshold": 0.3},
    "IoU+OKS, border re-entry": {"border_reentry": True},
    # ByteTrack's rule (no track starts from a low score), for comparison with the default.
    "IoU+OKS, no low-score births": {"low_track_hits": 0},
}


def scenario_rows(name: str, seqs: list, configs: dict) -> list[dict]:
    crossings = sum(s.crossings for s in seqs)
    rows = []
    for cname, kw in configs.items():
        sc = mot_scores([run_tracker_on(s.frames, lambda: PoseTracker(**kw), image_size=s.image_size)
                         for s in seqs])
        rows.append({"scenario": name, "tracker": cname, "sequences": len(seqs), "frames": sc.num_frames,
                     "crossings": crossings, "mota": sc.mota, "idf1": sc.idf1, "id_switches": sc.id_switches,
                     "switches_per_10_crossings": 10 * sc.id_switches / crossings if crossings else None,
                     "false_positives": sc.false_positives, "misses": sc.misses, "gt": sc.num_gt})
    return rows


def detector_recall(seqs: list) -> float:
    """Fraction of ground-truth people the simulated detector reported (tracker's ceiling)."""
    gt = sum(len(f.gt_ids) for s in seqs for f in s.frames)
    det = sum(int((f.det_gt >= 0).sum()) for s in seqs for f in s.frames)
    return det / max(gt, 1)


def smoothing_rows(params: list[tuple[float, float, float]], fps: float = 30.0) -> list[dict]:
    rng = np.random.default_rng(0)
    pose = skeleton_at(400, 600, 300, 1.0, 0.0)
    rows = []
    for mc, beta, dc in params:
        row = {"min_cutoff": mc, "beta": beta, "d_cutoff": dc}
        for noise in (1.0, 2.0, 4.0):
            f = OneEuroFilter(mc, beta, dc)
            raw = np.array([pose + rng.normal(0, noise, pose.shape) for _ in range(300)])
            out = np.array([f(x, i / fps) for i, x in enumerate(raw)])
            j = lambda a: np.linalg.norm(np.diff(a[30:], axis=0), axis=-1).mean()  # noqa: E731
            row[f"jitter_cut_{noise:g}px"] = 1 - j(out) / j(raw)
        for v in (50.0, 100.0, 150.0, 300.0):
            f = OneEuroFilter(mc, beta, dc)
            lag = []
            for i in range(120):
                truth = pose + np.array([v * i / fps, 0.0])
                y = f(truth, i / fps)
                if i >= 60:
                    lag.append(float((truth - y)[:, 0].mean()))
            row[f"lag_frames_{v:g}pxs"] = float(np.mean(lag)) / (v / fps)
        rows.append(row)
    return rows


def posetrack_rows(shared: Path, seeds: int) -> list[dict]:
    root = shared / "data" / "mmpose-tests" / "posetrack18" / "annotations"
    frames = load_posetrack_frames(str(root / "test_posetrack18_val.json"),
                                   str(root / "test_posetrack18_human_detections.json"))
    crowd = max(frames, key=lambda f: len(f.gt_ids))
    seqs = [animate_annotated_frame(crowd.gt_ids, crowd.gt_boxes, crowd.gt_keypoints, crowd.gt_visible,
                                    crowd.det_boxes, crowd.det_scores, crowd.image_size, duration=4.0, seed=s)
            for s in range(seeds)]
    rows = scenario_rows(f"PoseTrack18 {crowd.name} (moving camera)", seqs, CONFIGS)
    for r in rows:
        r["detector_recall"] = detector_recall(seqs)
    return rows


def tracker_cost(seq) -> float:
    tr = PoseTracker()
    t0 = time.perf_counter()
    for f in seq.frames:
        tr.update(f.boxes, f.scores, f.keypoints, f.keypoint_scores, f.t)
    return (time.perf_counter() - t0) / len(seq.frames) * 1e3


def interval_rows(shared: Path, intervals: list[int], frames: int, out_dir: Path) -> list[dict]:
    """Run detector (every N frames) -> MoveNet -> tracker on vtest.avi, compare to N = 1."""
    import cv2

    from engines.onnxruntime import OrtEngine
    from poselive.stages import DetectorStage, PoseStage
    from poselive.stages.tracker import IntervalDetectorStage, IntervalPoseStage, TrackerStage
    from poselive.tracking import DetectionScheduler, compare_runs
    from poselive.types import FramePacket

    teachers = shared / "data" / "teachers"
    video = shared / "data" / "videos" / "vtest.avi"
    det = DetectorStage(OrtEngine(teachers / "rtmdet-nano-person.onnx", threads=1))
    pose = PoseStage(OrtEngine(teachers / "movenet-lightning.onnx", threads=1))
    rows, paths = [], {}
    for n in intervals:
        sched = DetectionScheduler(interval=n)
        stages = [IntervalDetectorStage(det, sched), IntervalPoseStage(pose, sched), TrackerStage("coco17")]
        cap = cv2.VideoCapture(str(video))
        fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
        path = out_dir / f"vtest_interval{n}.jsonl"
        busy, detected = 0.0, 0
        with open(path, "w") as fh:
            fh.write(json.dumps({"source": str(video), "det_interval": n, "keypoint_set": "coco17"}) + "\n")
            for i in range(frames):
                ok, img = cap.read()
                if not ok:
                    break
                t0 = time.perf_counter()
                p = FramePacket(i, i / fps, img)
                for st in stages:
                    p = st(p)
                busy += time.perf_counter() - t0
                detected += int(p.meta.get("detected", True))
                ps = p.poses
                persons = [{"id": int(ps.track_ids[j]), "box": ps.boxes[j].tolist(), "score": float(ps.box_scores[j]),
                            "keypoints": [[float(x), float(y), float(c)] for (x, y), c in zip(ps.keypoints[j], ps.scores[j])]}
                           for j in range(len(ps))]
                fh.write(json.dumps({"frame": i, "time": i / fps, "persons": persons}) + "\n")
        cap.release()
        paths[n] = path
        rows.append({"interval": n, "frames": i + 1, "detector_runs": detected, "ms_per_frame": busy / (i + 1) * 1e3})
    for r in rows:
        c = compare_runs(paths[intervals[0]], paths[r["interval"]])
        r.update({"mean_oks_vs_first": c.mean_oks, "matched": c.matched, "only_in_ref": c.only_in_a,
                  "only_in_this": c.only_in_b})
    return rows


def fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def table(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("POSELIVE_SHARED",
                                                       str(Path(__file__).resolve().parents[2] / "shared")))
    ap.add_argument("--json", help="write all rows here")
    ap.add_argument("--quick", action="store_true", help="fewer seeds")
    ap.add_argument("--video-frames", type=int, default=200,
                    help="frames of vtest.avi for the detection-interval run (0: skip it)")
    ap.add_argument("--out-dir", default="/tmp/poselive_tracking_eval", help="where the JSONL runs go")
    args = ap.parse_args()
    n = 2 if args.quick else 5
    results: dict[str, list] = {}
    t0 = time.time()
    cross = [simulate_plaza(num_people=12, duration=12.0, seed=s, crossing=True) for s in range(n)]
    dense = [simulate_plaza(num_people=10, duration=8.0, seed=s, crossing=True) for s in range(n + 1)]
    plaza = [simulate_plaza(num_people=10, duration=10.0, seed=s) for s in range(max(n - 2, 2))]
    mot = []
    for name, seqs in (("crossing (12 people, 12 s)", cross), ("dense crossing (10 people, 8 s)", dense),
                       ("plaza: leave/return, long occlusions", plaza)):
        rows = scenario_rows(name, seqs, CONFIGS)
        for r in rows:
            r["detector_recall"] = detector_recall(seqs)
        mot += rows
    shared = Path(args.shared)
    if (shared / "data" / "mmpose-tests" / "posetrack18").is_dir():
        mot += posetrack_rows(shared, 4 if not args.quick else 2)
    else:
        print(f"(PoseTrack18 fragment not found under {shared}; skipped)")
    results["mot"] = mot
    cols = ["scenario", "tracker", "sequences", "frames", "crossings", "detector_recall", "mota", "idf1",
            "id_switches", "switches_per_10_crossings", "false_positives", "misses"]
    print("## Tracking\n")
    print(table(mot, cols))
    sm = smoothing_rows([(1.0, 0.05, 1.0), (1.0, 0.0, 1.0), (0.5, 0.05, 1.0), (1.0, 0.02, 1.0),
                         (1.0, 0.1, 1.0), (2.0, 0.05, 1.0)])
    results["smoothing"] = sm
    print("\n## One-Euro smoothing (30 fps; first row = defaults)\n")
    print(table(sm, list(sm[0].keys())))
    cost = tracker_cost(cross[0])
    people = np.mean([len(f.boxes) for f in cross[0].frames])
    results["tracker_ms_per_frame"] = {"ms": cost, "detections_per_frame": float(people)}
    print(f"\nTracker update: {cost:.2f} ms per frame with {people:.1f} detections per frame "
          f"(numpy, this machine); total benchmark time {time.time() - t0:.0f} s")
    if args.video_frames and (shared / "data" / "teachers" / "rtmdet-nano-person.onnx").is_file():
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        iv = interval_rows(shared, [1, 3, 5], args.video_frames, out_dir)
        results["det_interval"] = iv
        print("\n## Detection interval on vtest.avi (detector + MoveNet Lightning + tracker, one thread)\n")
        print(table(iv, list(iv[0].keys())))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
