"""The default detector's bars only, side by side with RTMDet-nano (issue 12, docs/default-models.md).

    python3 benchmarks/default_detector.py --det DET.onnx [--det OTHER.onnx ...] [--shared ../shared]
        [--threads 1] [--rounds 7] [--json OUT]

On coco-mini/val2017 (never trained on), for every ``--det`` and the RTMDet-nano teacher:
person-box AP (scores >= 0.001, as ``poselive eval``), whole-pipeline keypoint AP with
MoveNet Lightning on the detector's boxes >= 0.3 (as ``poselive eval --det``), and CPU time
on ONNX Runtime at 320x320: model only (batch 1) and adapter (letterbox + model + NMS) per
image, in interleaved rounds (median of the per-round medians), with the load average
before and after. A lighter companion of ``default_models.py``, which adds the pose bars.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from default_models import PIPELINE_DET_THRESHOLD, _adapter_time_per_image, _model_ms  # noqa: E402
from engines import open_engine  # noqa: E402
from poselive.evaluation import box_ap  # noqa: E402
from poselive.stages.adapters import build_detector_adapter  # noqa: E402
from trainer.evaluate import detector_results, evaluate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--det", action="append", required=True, help="detector ONNX (repeatable)")
    ap.add_argument("--shared", default=os.environ.get("POSELIVE_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-pipeline", action="store_true", help="skip the pipeline AP (faster)")
    ap.add_argument("--time-only", action="store_true", help="only the CPU times (no AP)")
    ap.add_argument("--json", help="write all numbers here")
    a = ap.parse_args(argv)
    shared = Path(a.shared) / "data"
    val = shared / "coco-mini/val2017"
    box_ann = shared / "coco-mini/annotations/instances_val2017.json"
    kp_ann = shared / "coco-mini/annotations/person_keypoints_val2017.json"
    lightning = shared / "teachers/movenet-lightning.onnx"
    dets = {Path(p).name: p for p in a.det}
    dets["RTMDet-nano (teacher)"] = str(shared / "teachers/rtmdet-nano-person.onnx")
    for p in [*dets.values(), val, box_ann, kp_ann, lightning]:
        if not Path(p).exists():
            print(f"missing: {p}", file=sys.stderr)
            return 2
    out: dict = {"load_before": os.getloadavg(), "ort_threads": a.threads, "detector": {}, "pipeline": {}}
    coco = json.loads(box_ann.read_text())
    for name, path in ({} if a.time_only else dets).items():
        res = detector_results(path, coco, val, score_threshold=0.001, threads=a.threads)
        m = box_ap(coco, res, cat_ids=[1])
        out["detector"][name] = {k: m[k] for k in ("AP", "AP50", "AP75", "AR100")}
        print(f"[det] {name}: box AP {m['AP']:.4f}", file=sys.stderr, flush=True)
        if not a.no_pipeline:
            kept = [r for r in res if r["score"] >= PIPELINE_DET_THRESHOLD]
            pm = evaluate(str(lightning), kp_ann, val, det_results=kept, progress=False)
            out["pipeline"][f"{name} + MoveNet Lightning"] = {k: pm[k] for k in ("AP", "AP50", "AR")}
            print(f"[pipeline] {name} + Lightning: AP {pm['AP']:.4f}", file=sys.stderr, flush=True)
    images = [cv2.imread(str(val / im["file_name"])) for im in coco["images"]][:40]
    engines = {n: open_engine(p, threads=a.threads) for n, p in dets.items()}
    adapters = {n: build_detector_adapter(e, score_threshold=PIPELINE_DET_THRESHOLD) for n, e in engines.items()}
    fns = {}
    for n, e in engines.items():
        fns[f"model {n}"] = lambda e=e, size=adapters[n].pre.input_size: _model_ms(e, size)
        fns[f"adapter {n}"] = lambda ad=adapters[n]: _adapter_time_per_image(ad, images)
    rounds: dict = {k: [] for k in fns}
    for _ in range(a.rounds):  # interleaved: load from other processes hits every model alike
        for k, fn in fns.items():
            rounds[k].append(fn())
    out["time_ms"] = {k: float(np.median(v)) for k, v in rounds.items()}
    teacher = "RTMDet-nano (teacher)"
    # per-round ratios against the teacher measured in the same round: less sensitive to load swings
    out["time_ratio_vs_teacher"] = {
        f"{kind} {n}": float(np.median(np.array(rounds[f"{kind} {n}"]) / np.array(rounds[f"{kind} {teacher}"])))
        for n in dets if n != teacher for kind in ("model", "adapter")}
    out["load_after"] = os.getloadavg()
    t = out["time_ms"]
    print(f"\nONNX Runtime {a.threads} thread(s), 320x320, median of {a.rounds} interleaved rounds; "
          f"load average {out['load_before'][0]:.1f} before, {out['load_after'][0]:.1f} after\n")
    print("| detector | box AP | AP50 | AR100 | model ms/image | adapter ms/image | pipeline AP (+ Lightning) |")
    print("|---|---|---|---|---|---|---|")
    for n in dets:
        m = out["detector"].get(n, {})
        pm = out["pipeline"].get(f"{n} + MoveNet Lightning", {}).get("AP")
        cells = [f"{m[k]:.4f}" if k in m else "" for k in ("AP", "AP50", "AR100")]
        print(f"| {n} | {' | '.join(cells)} | {t[f'model {n}']:.2f} | "
              f"{t[f'adapter {n}']:.2f} | {'' if pm is None else f'{pm:.4f}'} |")
    for k, r in out["time_ratio_vs_teacher"].items():
        print(f"{k} / RTMDet-nano, median of per-round ratios: {r:.3f}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
