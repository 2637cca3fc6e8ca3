"""Turn a training checkpoint into the files poselive ships: an inference checkpoint
(weights and spec, no optimiser state) and an ONNX model with the spec embedded.

    python -m trainer.release runs/poselive-pose-t/last.pth assets/poselive-pose-t \\
        --command "poselive train configs/poselive-pose-t.yaml"

writes ``assets/poselive-pose-t.pt`` and ``assets/poselive-pose-t.onnx``, checks that the
ONNX model gives the checkpoint's outputs (batch 1 and 3), and prints the learning curve
(validation AP per epoch) as a Markdown table for the model card.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from poselive.errors import PoseliveError


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parents[1])
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def curve_table(history: list[dict]) -> str:
    """Markdown rows of epoch, train loss and validation AP for the epochs that were validated."""
    rows = [h for h in history if h.get("AP") is not None]
    lines = ["| epoch | train loss | val AP | val AP50 |", "|---|---|---|---|"]
    for h in rows:
        lines.append(f"| {h['epoch']} | {h['loss']:.4f} | {h['AP']:.4f} | {h.get('AP50') or 0:.4f} |")
    return "\n".join(lines)


def _set_onnx_spec(path: Path, spec: dict) -> None:
    import json

    import onnx

    from poselive.models.export import SPEC_KEY

    proto = onnx.load(str(path))
    for prop in proto.metadata_props:
        if prop.key == SPEC_KEY:
            prop.value = json.dumps(spec)
    onnx.save(proto, str(path))


def release(checkpoint: str | Path, out_stem: str | Path, command: str | None = None, name: str | None = None,
            half: bool = False, eval_data: tuple[str, str] | None = None) -> dict[str, Any]:
    """Write ``<out_stem>.pt`` and ``<out_stem>.onnx``; returns paths, sizes, parity and the curve.

    ``name`` renames the model in its spec; ``half`` stores the weights as float16 (the ONNX
    graph casts them back to float32; the checkpoint loads as float32): lossless for weights
    that are float16 values already, otherwise check the recorded accuracy. ``eval_data``
    (annotations json, image folder) evaluates the written ONNX with ground-truth boxes and
    records the AP in the spec of both files (``provenance.accuracy``), so tests can check
    that the shipped files still reproduce it.
    """
    from engines.cache import file_sha256
    from poselive.models import load_model, read_checkpoint, save_checkpoint
    from poselive.models.export import export_onnx, onnx_parity, store_float16

    checkpoint, out_stem = Path(checkpoint), Path(out_stem)
    raw = read_checkpoint(checkpoint)
    model, spec = load_model(checkpoint)
    extra = raw.get("extra") or {}
    history = list(((extra.get("train_state") or {}).get("history")) or [])
    spec = dict(spec)
    prov = dict(spec.get("provenance") or {})
    prov["release"] = {"from_checkpoint": checkpoint.name, "checkpoint_sha256": file_sha256(checkpoint),
                       "git_commit": _git_commit(), "training_command": command}
    if name:
        spec["name"] = name
    spec["provenance"] = prov
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    pt, onnx_path = out_stem.with_suffix(".pt"), out_stem.with_suffix(".onnx")
    curve = [{k: h.get(k) for k in ("epoch", "loss", "AP", "AP50", "AR")} for h in history]
    export_onnx(model, onnx_path, spec=spec)
    if half:
        store_float16(onnx_path)
    diff = onnx_parity(model, onnx_path)
    if eval_data:
        from trainer.evaluate import evaluate

        m = evaluate(onnx_path, eval_data[0], eval_data[1], progress=False)
        prov["accuracy"] = {"data": f"{Path(eval_data[1]).parent.name}/{Path(eval_data[1]).name}",
                            "boxes": "ground truth", "AP": round(m["AP"], 4), "AP50": round(m["AP50"], 4),
                            "AR": round(m["AR"], 4), "weights": "float16" if half else "float32"}
        spec["provenance"] = prov
        _set_onnx_spec(onnx_path, spec)
    save_checkpoint(pt, model.half() if half else model, spec, config=extra.get("config") or {},
                    epoch=extra.get("epoch"), metrics=extra.get("metrics") or {}, history=curve)
    return {"checkpoint": str(pt), "onnx": str(onnx_path), "checkpoint_mb": pt.stat().st_size / 2**20,
            "accuracy": prov.get("accuracy"),
            "onnx_mb": onnx_path.stat().st_size / 2**20, "onnx_max_abs_diff": diff, "curve": curve}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="export a trained checkpoint as shipped .pt + .onnx files")
    ap.add_argument("checkpoint", help="training checkpoint (e.g. runs/NAME/last.pth)")
    ap.add_argument("out_stem", help="output path without suffix (e.g. assets/poselive-pose-t)")
    ap.add_argument("--command", help="the training command, recorded in the spec's provenance")
    ap.add_argument("--name", help="the model's name in its spec (default: keep)")
    ap.add_argument("--half", action="store_true", help="store weights as float16 (cast back when loaded)")
    ap.add_argument("--eval", nargs=2, metavar=("ANN", "IMAGES"),
                    help="evaluate the written ONNX with ground-truth boxes and record the AP in the spec")
    a = ap.parse_args(argv)
    try:
        r = release(a.checkpoint, a.out_stem, a.command, name=a.name, half=a.half,
                    eval_data=tuple(a.eval) if a.eval else None)
    except PoseliveError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {r['checkpoint']} ({r['checkpoint_mb']:.1f} MiB) and {r['onnx']} ({r['onnx_mb']:.1f} MiB); "
          f"ONNX vs PyTorch max |diff| {r['onnx_max_abs_diff']:.2e}")
    if r.get("accuracy"):
        print(f"recorded accuracy: {r['accuracy']}")
    print(curve_table(r["curve"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
