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


def release(checkpoint: str | Path, out_stem: str | Path, command: str | None = None) -> dict[str, Any]:
    """Write ``<out_stem>.pt`` and ``<out_stem>.onnx``; returns paths, sizes, parity and the curve."""
    from engines.cache import file_sha256
    from poselive.models import load_model, read_checkpoint, save_checkpoint
    from poselive.models.export import export_onnx, onnx_parity

    checkpoint, out_stem = Path(checkpoint), Path(out_stem)
    raw = read_checkpoint(checkpoint)
    model, spec = load_model(checkpoint)
    extra = raw.get("extra") or {}
    history = list(((extra.get("train_state") or {}).get("history")) or [])
    spec = dict(spec)
    prov = dict(spec.get("provenance") or {})
    prov["release"] = {"from_checkpoint": checkpoint.name, "checkpoint_sha256": file_sha256(checkpoint),
                       "git_commit": _git_commit(), "training_command": command}
    spec["provenance"] = prov
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    pt, onnx_path = out_stem.with_suffix(".pt"), out_stem.with_suffix(".onnx")
    curve = [{k: h.get(k) for k in ("epoch", "loss", "AP", "AP50", "AR")} for h in history]
    save_checkpoint(pt, model, spec, config=extra.get("config") or {}, epoch=extra.get("epoch"),
                    metrics=extra.get("metrics") or {}, history=curve)
    export_onnx(model, onnx_path, spec=spec)
    diff = onnx_parity(model, onnx_path)
    return {"checkpoint": str(pt), "onnx": str(onnx_path), "checkpoint_mb": pt.stat().st_size / 2**20,
            "onnx_mb": onnx_path.stat().st_size / 2**20, "onnx_max_abs_diff": diff, "curve": curve}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="export a trained checkpoint as shipped .pt + .onnx files")
    ap.add_argument("checkpoint", help="training checkpoint (e.g. runs/NAME/last.pth)")
    ap.add_argument("out_stem", help="output path without suffix (e.g. assets/poselive-pose-t)")
    ap.add_argument("--command", help="the training command, recorded in the spec's provenance")
    a = ap.parse_args(argv)
    try:
        r = release(a.checkpoint, a.out_stem, a.command)
    except PoseliveError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {r['checkpoint']} ({r['checkpoint_mb']:.1f} MiB) and {r['onnx']} ({r['onnx_mb']:.1f} MiB); "
          f"ONNX vs PyTorch max |diff| {r['onnx_max_abs_diff']:.2e}")
    print(curve_table(r["curve"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
