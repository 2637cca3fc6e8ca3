"""Merge COCO keypoint files into one training file, with image paths made absolute.

Used to train on pseudo-labels and real labels together: later files win for images
that several files annotate (by pixel hash when present, else by absolute path).

    python -m trainer.merge OUT.json PSEUDO.json:IMAGES_DIR REAL.json:IMAGES_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from poselive.errors import ConfigError


def _load(spec: str) -> tuple[dict, Path]:
    ann, _, images = spec.partition(":")
    p = Path(ann)
    if not p.is_file():
        raise ConfigError(f"annotation file not found: {p}")
    return json.loads(p.read_text()), Path(images) if images else p.parent


def merge_coco(specs: list[str]) -> dict:
    """One COCO dict from ``ANN.json[:IMAGES_DIR]`` specs; a later spec's image replaces an
    earlier one with the same absolute path or file name."""
    if not specs:
        raise ConfigError("nothing to merge")
    images: dict[str, dict] = {}
    anns: dict[str, list[dict]] = {}
    categories = None
    for spec in specs:
        coco, root = _load(spec)
        categories = categories or coco.get("categories")
        by_id = {}
        for im in coco["images"]:
            path = Path(im["file_name"])
            path = path if path.is_absolute() else (root / path).resolve()
            key = path.name  # the same image under two folders is one image
            by_id[im["id"]] = key
            images[key] = {**im, "file_name": str(path)}
            anns[key] = []
        for a in coco["annotations"]:
            if a["image_id"] in by_id:
                anns[by_id[a["image_id"]]].append(a)
    out_images, out_anns = [], []
    for new_id, (key, im) in enumerate(images.items(), 1):
        out_images.append({**im, "id": new_id})
        for a in anns[key]:
            out_anns.append({**a, "id": len(out_anns) + 1, "image_id": new_id})
    return {"images": out_images, "annotations": out_anns, "categories": categories or []}


def main(argv: list[str] | None = None) -> int:
    """Command line: write the merged file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+", help="ANN.json[:IMAGES_DIR], later ones win")
    a = ap.parse_args(argv)
    try:
        merged = merge_coco(a.inputs)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    Path(a.out).write_text(json.dumps(merged))
    print(f"{a.out}: {len(merged['images'])} images, {len(merged['annotations'])} annotations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
