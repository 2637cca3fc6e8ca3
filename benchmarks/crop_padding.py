"""Choose the crop padding of MoveNet-architecture models on coco-mini/train2017 (never val2017).

Evaluates a checkpoint with ground-truth boxes enlarged by each padding (square crops), and
prints one row per padding with the COCO keypoint AP. The padding with the best AP on
train2017 is the one stored in the shipped spec (``box_padding``).

    python benchmarks/crop_padding.py MODEL.pt [MODEL.pt ...] --paddings 1.0 1.1 1.25
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="pose checkpoints (.pt)")
    p.add_argument("--paddings", nargs="+", type=float, default=[1.0, 1.05, 1.1, 1.15, 1.2, 1.25])
    p.add_argument("--split", default="train2017", choices=["train2017"],
                   help="only train2017: choosing on val2017 would overfit the reported numbers")
    p.add_argument("--json", help="write the table here")
    a = p.parse_args(argv)
    import tempfile

    from engines.onnxruntime import OrtEngine
    from poselive.models import load_model
    from poselive.models.export import export_onnx
    from poselive.stages.adapters import build_pose_adapter
    from trainer.evaluate import evaluate_estimator

    tmp = Path(tempfile.mkdtemp(prefix="crop-padding-"))
    shared = Path(os.environ.get("POSELIVE_SHARED", ROOT.parent / "shared"))
    coco = shared / "data" / "coco-mini"
    ann = coco / "annotations" / f"person_keypoints_{a.split}.json"
    rows = []
    for path in a.models:
        model, spec = load_model(path)
        # ONNX Runtime through the pipeline's own adapter: what users run, and fast on the CPU
        engine = OrtEngine(export_onnx(model, tmp / (Path(path).stem + ".onnx"), spec=spec),
                           threads=int(os.environ.get("POSELIVE_THREADS", "2")))
        for pad in a.paddings:
            pred = build_pose_adapter(engine, padding=pad).estimate
            metrics, _ = evaluate_estimator(pred, ann, coco / a.split, spec.get("keypoint_set", "coco17"))
            rows.append({"model": Path(path).name, "padding": pad, "AP": round(metrics["AP"], 4),
                         "AP50": round(metrics["AP50"], 4)})
            print(f"{Path(path).name:32s} padding {pad:.2f}  AP {metrics['AP']:.4f}  AP50 {metrics['AP50']:.4f}",
                  flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
