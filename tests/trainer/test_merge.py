"""Merging pseudo-labels with real labels: later files win, paths become absolute."""

import json

from trainer.merge import merge_coco


def _coco(names, per_image):
    return {"images": [{"id": i + 10, "file_name": n, "width": 4, "height": 4} for i, n in enumerate(names)],
            "annotations": [{"id": 99, "image_id": i + 10, "tag": per_image} for i in range(len(names))],
            "categories": [{"id": 1, "name": "person"}]}


def test_later_file_replaces_annotations_of_the_same_image(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_coco(["x.jpg", "y.jpg"], "pseudo")))
    b.write_text(json.dumps(_coco(["y.jpg"], "real")))
    m = merge_coco([f"{a}:{tmp_path / 'pool'}", f"{b}:{tmp_path / 'train'}"])
    files = {im["id"]: im["file_name"] for im in m["images"]}
    assert sorted(files.values()) == [str(tmp_path / "pool" / "x.jpg"), str(tmp_path / "train" / "y.jpg")]
    tags = {files[a["image_id"]].rsplit("/", 1)[1]: a["tag"] for a in m["annotations"]}
    assert tags == {"x.jpg": "pseudo", "y.jpg": "real"}
    assert len({a["id"] for a in m["annotations"]}) == len(m["annotations"]) == 2
