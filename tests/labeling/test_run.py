"""End-to-end labelling runs: COCO output, video frames, de-duplication, evaluation guard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from poselive.labeling import (ANNOTATIONS, BOX_ANNOTATIONS, STATS, EvalLeakError, ExclusionSet, FrameDeduper, LabelJob,
                               LabelRun, Labeler, find_overlap)
from poselive.labeling.cli import add_parser, load_config, run as cli_run

REPO = Path(__file__).resolve().parents[2]


def _write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    """H.264 video of BGR frames, written with PyAV (near-lossless so copies stay copies)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "10"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.fixture(scope="module")
def small_sources(shared, tmp_path_factory):
    """Two pool images with people, one evaluation image (deliberately), one real video."""
    d = tmp_path_factory.mktemp("imgs")
    pool = shared / "data" / "pool" / "coco-boxes" / "images"
    picks = sorted(pool.iterdir())[:2]
    for p in picks:
        shutil.copy(p, d / p.name)
    val = sorted((shared / "data" / "coco-mini" / "val2017").iterdir())[0]
    # Re-saved under another name and format: only the pixel hash can catch it.
    cv2.imwrite(str(d / "renamed_eval.png"), cv2.imread(str(val)))
    return d, picks, val


def test_run_writes_coco_and_excludes_eval_image(shared, adapters, small_sources, tmp_path):
    from pycocotools.coco import COCO

    img_dir, picks, val = small_sources
    video = shared / "data" / "videos" / "vtest.avi"
    job = LabelJob(out=tmp_path / "out", images=[img_dir], videos=[video], frame_stride=40,
                   exclude=[shared / "data" / "coco-mini" / "val2017"], max_images=5)
    stats = LabelRun(Labeler(adapters["det"], adapters["lightning"]), job).run()

    assert stats["images_seen"] == 5  # 3 stills + 2 video frames
    assert stats["images_excluded_eval"] == 1 and "renamed_eval.png" in stats["excluded_files"][0]
    assert stats["persons_accepted"] > 0
    assert stats["persons_proposed"] == stats["persons_accepted"] + sum(stats["rejected"].values())
    assert json.loads((job.out / STATS).read_text())["images_seen"] == 5

    coco = COCO(str(job.out / ANNOTATIONS))
    cat = coco.loadCats(1)[0]
    assert cat["keypoints"][0] == "nose" and len(cat["keypoints"]) == 17 and [16, 14] in cat["skeleton"]
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == stats["persons_accepted"]
    for a in anns:
        kp = np.asarray(a["keypoints"]).reshape(17, 3)
        assert set(kp[:, 2]) <= {0, 2} and a["num_keypoints"] == int((kp[:, 2] == 2).sum())
        assert (kp[kp[:, 2] == 0, :2] == 0).all()
        x, y, w, h = a["bbox"]
        assert w > 0 and h > 0 and a["iscrowd"] == 0 and a["area"] == pytest.approx(w * h, rel=1e-3)
        assert 0 < a["score"] <= 1
    # frames are written as image files the trainer can read (file_name relative to out)
    frames = [im for im in coco.dataset["images"] if "frame_index" in im]
    assert frames and all(im["frame_index"] % 40 == 0 for im in frames)
    for im in coco.dataset["images"]:
        img = cv2.imread(str(job.out / im["file_name"]))
        assert img is not None and img.shape[:2] == (im["height"], im["width"])
    # and nothing of val2017 is in the training set, by content hash
    assert find_overlap(job.out / ANNOTATIONS, shared / "data" / "coco-mini" / "val2017") == []
    # ... which the check would notice: the source folder itself does overlap
    hits = find_overlap(img_dir, shared / "data" / "coco-mini" / "val2017")
    assert [(Path(a).name, Path(b).name) for a, b in hits] == [("renamed_eval.png", val.name)]

    # trainer compatibility: the COCO keypoint dataset reads the output as written
    from trainer.data.datasets import CocoKeypointDataset

    ds = CocoKeypointDataset(job.out / ANNOTATIONS, job.out, mode="train")
    assert len(ds) == len(anns) and Path(ds[0]["image_path"]).is_file()

    # the box file: every image that was not excluded, every proposed box
    boxes = json.loads((job.out / BOX_ANNOTATIONS).read_text())
    assert len(boxes["images"]) == stats["images_seen"] - 1
    assert len(boxes["annotations"]) == stats["persons_proposed"]
    kp_by_name = {im["file_name"]: im["id"] for im in coco.dataset["images"]}
    box_by_name = {im["file_name"]: im["id"] for im in boxes["images"]}
    assert kp_by_name.items() <= box_by_name.items()  # same ids for the same images
    for a in boxes["annotations"]:
        assert a["iscrowd"] == int(a["box_source"] == "detector" and a["score"] < 0.5)
    assert find_overlap(job.out / BOX_ANNOTATIONS, shared / "data" / "coco-mini" / "val2017") == []
    from trainer.data.datasets import PersonBoxDataset

    pb = PersonBoxDataset.from_coco(job.out / BOX_ANNOTATIONS, job.out)
    assert len(pb) == len(boxes["images"])
    assert sum(len(it["boxes"]) + len(it["ignore"]) for it in pb.items) == len(boxes["annotations"])


def test_strict_exclusion_refuses(shared, adapters, small_sources, tmp_path):
    img_dir, _, _ = small_sources
    job = LabelJob(out=tmp_path, images=[img_dir], exclude=[shared / "data" / "coco-mini" / "val2017"],
                   strict_exclude=True)
    with pytest.raises(EvalLeakError, match="renamed_eval.png"):
        LabelRun(Labeler(adapters["det"], adapters["lightning"]), job).run()


def test_dedup_drops_repeated_frames_of_a_video(shared, adapters, tmp_path):
    a = cv2.imread(str(shared / "data" / "videos" / "basketball1.png"))
    b = cv2.imread(str(shared / "data" / "videos" / "basketball2.png"))
    a, b = cv2.resize(a, (320, 240)), cv2.resize(b, (320, 240))
    c = np.ascontiguousarray(a[:, ::-1])  # a different picture of the same size
    seq = [a, a, a, b, b, c, c, c, a]
    video = tmp_path / "repeats.mp4"
    _write_video(video, seq)

    dd = FrameDeduper(threshold=2.0)
    with av.open(str(video)) as cont:
        kept = [i for i, f in enumerate(cont.decode(video=0)) if dd.keep(f.to_ndarray(format="bgr24"))]
    assert kept == [0, 3, 5, 8] and dd.dropped == 5

    job = LabelJob(out=tmp_path / "out", videos=[video], dedup_threshold=2.0)
    stats = LabelRun(Labeler(adapters["det"], adapters["lightning"]), job).run()
    assert stats["frames_decoded"] == 9 and stats["frames_duplicate"] == 5 and stats["images_seen"] == 4
    # stride applies before de-duplication
    job2 = LabelJob(out=tmp_path / "out2", videos=[video], dedup_threshold=0, frame_stride=3)
    stats2 = LabelRun(Labeler(adapters["det"], adapters["lightning"]), job2).run()
    assert stats2["frames_skipped_stride"] == 6 and stats2["images_seen"] == 3


def test_exclusion_set_matches_bytes_or_pixels(shared, tmp_path):
    val = sorted((shared / "data" / "coco-mini" / "val2017").iterdir())[:2]
    excl = ExclusionSet.from_dirs([val[0].parent])
    assert len(excl) == len(list(val[0].parent.iterdir()))
    from poselive.labeling.hashing import image_hashes

    fh, ph, img = image_hashes(val[1])
    assert excl.match(fh, None) == str(val[1]) and excl.match(None, ph) == str(val[1])
    img[0, 0, 0] ^= 1  # one changed bit is another image
    from poselive.labeling.hashing import pixel_sha1

    assert excl.match("0" * 40, pixel_sha1(img)) is None


def test_default_training_sources_do_not_overlap_eval(shared):
    """Every default training source in configs/label-pool.yaml, hashed against val2017."""
    cfg = load_config(REPO / "configs" / "label-pool.yaml", shared)
    eval_dir = shared / "data" / "coco-mini" / "val2017"
    assert [str(eval_dir)] == cfg["exclude"]
    names = " ".join(cfg["images"] + cfg["videos"])
    for must in ("pool/coco128", "pool/unlabeled", "pool/coco-boxes", "coco-mini/train2017", "vtest.avi"):
        assert must in names
    excl = ExclusionSet.from_dirs([eval_dir])
    for src in cfg["images"] + cfg["videos"]:
        assert find_overlap(src, excl) == [], src


def test_cli_reports_bad_input(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["label", "--pose", str(tmp_path / "nope.onnx"), "--images", str(tmp_path / "missing"),
                              "--out", str(tmp_path / "o")])
    assert cli_run(args) == 2
    assert "input not found" in capsys.readouterr().err


def test_poselive_label_command_end_to_end(shared, teachers, tmp_path, capsys):
    """`poselive label` through the main CLI: real teachers, two images, summary and files."""
    from poselive.apps.cli import main

    d = tmp_path / "imgs"
    d.mkdir()
    for name in ("basketball1.png", "messi5.jpg"):
        shutil.copy(shared / "data" / "videos" / name, d / name)
    rc = main(["label", "--det", str(teachers / "rtmdet-nano-person.onnx"),
               "--pose", str(teachers / "movenet-lightning.onnx"), "--flip-check", "--images", str(d),
               "--out", str(tmp_path / "out"), "--threads", "1", "--quiet", "--shared", str(shared)])
    out = capsys.readouterr().out
    assert rc == 0 and "persons:" in out and "rejected:" in out
    stats = json.loads((tmp_path / "out" / STATS).read_text())
    coco = json.loads((tmp_path / "out" / ANNOTATIONS).read_text())
    assert stats["images_seen"] == 2 and len(coco["annotations"]) == stats["persons_accepted"] >= 2
    assert all("flip" in a["agreement"] for a in coco["annotations"])


def test_boxes_only_run_writes_person_boxes_for_a_detector(shared, teachers, tmp_path, capsys):
    """`poselive label --boxes-only`: no pose teacher, official boxes win, every image kept
    (those without persons are negatives), uncertain detector boxes become ignore regions."""
    from poselive.apps.cli import main

    pool = shared / "data" / "pool" / "coco-boxes"
    d = tmp_path / "imgs"
    d.mkdir()
    for p in sorted((pool / "images").iterdir())[:3]:
        shutil.copy(p, d / p.name)
    shutil.copy(shared / "data" / "videos" / "messi5.jpg", d / "messi5.jpg")  # no official boxes
    rc = main(["label", "--boxes-only", "--det", str(teachers / "rtmdet-nano-person.onnx"), "--images", str(d),
               "--boxes", str(pool / "person_boxes.json"), "--out", str(tmp_path / "out"), "--threads", "1",
               "--quiet", "--shared", str(shared)])
    assert rc == 0, capsys.readouterr().err
    assert not (tmp_path / "out" / ANNOTATIONS).exists()
    coco = json.loads((tmp_path / "out" / BOX_ANNOTATIONS).read_text())
    assert len(coco["images"]) == 4
    by_image = {im["id"]: Path(im["file_name"]).name for im in coco["images"]}
    srcs = {by_image[a["image_id"]]: a["box_source"] for a in coco["annotations"]}
    assert srcs.get("messi5.jpg") == "detector"
    assert all(v == "official" for k, v in srcs.items() if k != "messi5.jpg")
    official = json.loads((pool / "person_boxes.json").read_text())
    names = {im["id"]: im["file_name"] for im in official["images"]}
    want = sum(1 for a in official["annotations"] if Path(names[a["image_id"]]).name in set(by_image.values())
               and a.get("category_id", 1) == 1)
    got = sum(1 for a in coco["annotations"] if a["box_source"] == "official")
    assert got == want
