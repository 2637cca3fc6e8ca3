"""`poselive label`: pseudo-label images and videos with teacher models.

Wire it into the main CLI with ``add_parser(subparsers)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from poselive.errors import ConfigError, PoseliveError
from poselive.labeling.hashing import default_exclude_dirs
from poselive.labeling.qc import QCConfig
from poselive.labeling.run import ANNOTATIONS, BOX_ANNOTATIONS, STATS, LabelJob, LabelRun, format_summary

log = logging.getLogger("poselive.labeling")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``label`` sub-command to an argparse sub-parser collection."""
    p = subparsers.add_parser("label", help="pseudo-label images and videos with teacher models (COCO json)")
    p.add_argument("--config", help="YAML with sources/teachers (e.g. configs/label-pool.yaml); "
                   "command-line flags add to or override it")
    p.add_argument("--shared", help="folder that relative paths in --config are read from "
                   "(default: $POSELIVE_SHARED, else ../shared)")
    p.add_argument("--det", help="person detector (ONNX, checkpoint or engine)")
    p.add_argument("--pose", help="main pose teacher")
    p.add_argument("--pose2", help="second pose teacher for agreement checks")
    p.add_argument("--flip-check", action="store_true", default=None,
                   help="also run the main teacher on the mirrored image and require agreement")
    p.add_argument("--images", nargs="+", default=[], metavar="DIR", help="image folders (recursive) or files")
    p.add_argument("--videos", nargs="+", default=[], metavar="FILE", help="video files or folders")
    p.add_argument("--boxes", nargs="+", default=[], metavar="PATH",
                   help="official person boxes that replace the detector's: COCO json or YOLO labels folder")
    p.add_argument("--frame-stride", type=int, default=None, help="label every Nth video frame")
    p.add_argument("--dedup-threshold", type=float, default=None,
                   help="drop a frame whose 32x32 grey thumbnail differs from the last kept one by less "
                        "than this mean absolute value (0-255; 0 keeps all); default 2")
    p.add_argument("--out", help="output folder (annotations, frames, stats)")
    p.add_argument("--exclude", nargs="+", default=[], metavar="DIR",
                   help="evaluation image folders never to label (default: shared coco-mini/val2017)")
    p.add_argument("--no-default-exclude", action="store_true", help="do not exclude coco-mini/val2017")
    p.add_argument("--strict-exclude", action="store_true", help="fail instead of skipping evaluation images")
    p.add_argument("--max-images", type=int, default=None, help="stop after this many images/frames")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model")
    p.add_argument("--copy-images", action="store_true", help="copy still images into OUT/images")
    for name in ("box_score", "kpt_score", "mean_kpt_score", "agreement_oks", "disagree_k",
                 "min_box_size", "min_inside_box", "duplicate_oks"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=None,
                       help=f"QC threshold (default {getattr(QCConfig, name)})")
    p.add_argument("--min-keypoints", type=int, default=None,
                   help=f"accepted keypoints a person needs (default {QCConfig.min_keypoints})")
    p.add_argument("--boxes-only", action="store_true",
                   help="write person boxes only (pseudo_boxes.json, for training a detector); "
                        "no pose teacher is run or needed")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=run)
    return p


def _shared_root(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    env = os.environ.get("POSELIVE_SHARED")
    for c in ([Path(env)] if env else []) + [Path.cwd().parent / "shared",
                                            Path(__file__).resolve().parents[3] / "shared"]:
        if (c / "data").is_dir():
            return c
    return None


def load_config(path: str | Path, shared: Path | None) -> dict:
    """A label config (YAML) with every path resolved against ``shared``."""
    import yaml

    cfg = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")

    def resolve(p: str) -> str:
        q = Path(os.path.expandvars(str(p)))
        if q.is_absolute():
            return str(q)
        if shared is None:
            raise ConfigError(f"{path} names '{p}' relative to the shared folder, which was not found; "
                              "pass --shared DIR or set POSELIVE_SHARED")
        return str(shared / q)

    out: dict = {"images": [], "videos": [], "boxes": [], "exclude": []}
    for s in cfg.get("images", []):
        s = {"path": s} if isinstance(s, str) else s
        out["images"].append(resolve(s["path"]))
        if s.get("boxes"):
            out["boxes"].append(resolve(s["boxes"]))
    for s in cfg.get("videos", []):
        s = {"path": s} if isinstance(s, str) else s
        base = Path(resolve(s["path"]))
        # A glob pattern (videos/*.mp4) expands here so the job sees plain files.
        out["videos"] += sorted(str(v) for v in base.parent.glob(base.name)) if any(
            c in base.name for c in "*?[") else [str(base)]
    out["exclude"] = [resolve(e) for e in cfg.get("exclude", [])]
    for key in ("det", "pose", "pose2"):
        if cfg.get("teachers", {}).get(key):
            out[key] = resolve(cfg["teachers"][key])
    for key in ("frame_stride", "dedup_threshold", "flip_check", "max_images", "out"):
        if key in cfg:
            out[key] = cfg[key]
    out["qc"] = dict(cfg.get("qc") or {})
    return out


def _build(a: argparse.Namespace) -> tuple[LabelRun, LabelJob]:
    shared = _shared_root(a.shared)
    empty: dict = {"images": [], "videos": [], "boxes": [], "exclude": [], "qc": {}}
    cfg = load_config(a.config, shared) if a.config else empty
    det, pose, pose2 = (getattr(a, k) or cfg.get(k) for k in ("det", "pose", "pose2"))
    out = a.out or cfg.get("out")
    if not pose and not a.boxes_only:
        raise ConfigError("no pose teacher: give --pose MODEL (and --det MODEL unless every image has official boxes)")
    if not out:
        raise ConfigError("no output folder: give --out DIR")
    images = cfg["images"] + a.images
    videos = cfg["videos"] + a.videos
    if not images and not videos:
        raise ConfigError("nothing to label: give --images DIR ... and/or --videos FILE ...")
    for p in images + videos:
        if not Path(p).exists():
            raise ConfigError(f"input not found: {p}; check the path")
    exclude = cfg["exclude"] + a.exclude
    if not a.no_default_exclude and not exclude:
        exclude = [str(d) for d in default_exclude_dirs(shared)]
    qc_kw = dict(cfg["qc"])
    for name in ("box_score", "kpt_score", "mean_kpt_score", "agreement_oks", "disagree_k",
                 "min_box_size", "min_inside_box", "duplicate_oks", "min_keypoints"):
        if getattr(a, name) is not None:
            qc_kw[name] = getattr(a, name)
    try:
        qc = QCConfig(**qc_kw)
    except TypeError as exc:
        raise ConfigError(f"unknown QC setting in the config: {exc}; see poselive.labeling.qc.QCConfig") from exc
    flip = a.flip_check if a.flip_check is not None else bool(cfg.get("flip_check", False))

    from engines import open_engine
    from poselive.labeling.labeler import Labeler

    labeler = Labeler.from_engines(open_engine(det, threads=a.threads) if det else None,
                                   None if a.boxes_only else open_engine(pose, threads=a.threads),
                                   open_engine(pose2, threads=a.threads) if pose2 and not a.boxes_only else None,
                                   flip_check=flip, qc=qc)
    labeler.teacher_names = {"det": det and Path(det).name}
    if not a.boxes_only:
        labeler.teacher_names.update(pose=Path(pose).name, pose2=pose2 and Path(pose2).name)
    stride = a.frame_stride if a.frame_stride is not None else int(cfg.get("frame_stride", 1))
    dedup = a.dedup_threshold if a.dedup_threshold is not None else float(cfg.get("dedup_threshold", 2.0))
    job = LabelJob(out=Path(out), images=[Path(p) for p in images], videos=[Path(v) for v in videos],
                   boxes=[Path(b) for b in cfg["boxes"] + a.boxes], exclude=[Path(e) for e in exclude],
                   frame_stride=stride, dedup_threshold=dedup,
                   max_images=a.max_images if a.max_images is not None else cfg.get("max_images"),
                   copy_images=a.copy_images, strict_exclude=a.strict_exclude,
                   boxes_only=a.boxes_only)
    return LabelRun(labeler, job), job


def run(a: argparse.Namespace) -> int:
    """Handler of ``poselive label``: 0 on success, 2 on bad input."""
    try:
        runner, job = _build(a)
        if not job.exclude:
            log.warning("no evaluation folder to exclude (coco-mini/val2017 not found); give --exclude DIR")
        state = {"n": 0}

        def progress(st: dict) -> None:
            state["n"] += 1
            if not a.quiet and state["n"] % 25 == 0:
                print(f"[label] {st['images_seen']} images, {st['persons_accepted']}/{st['persons_proposed']} "
                      f"persons accepted, {st['elapsed_s']:.0f} s", file=sys.stderr, flush=True)

        runner.on_progress = progress
        stats = runner.run()
    except PoseliveError as exc:
        print(f"poselive label: {exc}", file=sys.stderr)
        return 2
    print(format_summary(stats))
    written = [BOX_ANNOTATIONS, STATS] if job.boxes_only else [ANNOTATIONS, BOX_ANNOTATIONS, STATS]
    print("wrote " + ", ".join(str(job.out / w) for w in written))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m poselive.labeling.cli ...``."""
    parser = argparse.ArgumentParser(prog="poselive")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser.parse_args(["label", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
