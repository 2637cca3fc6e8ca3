"""JsonlSink and CsvSink: header, one record per frame / per person, rounding, flushing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from poselive.errors import SinkError
from poselive.keypoints import get_keypoint_set
from poselive.sinks import CsvSink, JsonlSink, csv_columns, read_jsonl
from poselive.types import FramePacket, Poses

K = 17


def _poses(n: int, seed: int, track: bool) -> Poses:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(0, 640, (n, K, 2)).astype(np.float32)
    boxes = np.concatenate([kp.min(1), kp.max(1)], axis=1)
    ids = np.arange(n, dtype=np.int64) + 1 if track else None
    if track and n > 1:
        ids[-1] = -1  # a track not confirmed yet
    return Poses(kp, rng.uniform(0, 1, (n, K)).astype(np.float32), boxes,
                 rng.uniform(0, 1, n).astype(np.float32), ids)


def _packets() -> list[FramePacket]:
    img = np.zeros((4, 4, 3), np.uint8)
    return [
        FramePacket(index=0, pts=0.0, image=img, poses=_poses(2, 0, track=True)),
        FramePacket(index=1, pts=1 / 30, image=img, poses=None),
        FramePacket(index=2, pts=2 / 30, image=img, poses=Poses.empty(K)),
        FramePacket(index=3, pts=0.1, image=img, poses=_poses(3, 1, track=False)),
    ]


def _header() -> dict:
    ks = get_keypoint_set("coco17")
    return {
        "poselive": "0.1.0",
        "source": "clip.mp4",
        "fps": 30.0,
        "size": (640, 480),
        "keypoints": list(ks.names),
        "skeleton": np.asarray(ks.skeleton),  # numpy is accepted and written as lists
    }


def test_jsonl_header_and_one_line_per_frame(tmp_path: Path) -> None:
    path = tmp_path / "poses.jsonl"
    packets = _packets()
    with JsonlSink(path, _header()) as sink:
        for p in packets:
            assert sink(p) is p
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + len(packets)
    header, frames = read_jsonl(path)
    assert header["size"] == [640, 480] and len(header["keypoints"]) == K
    assert header["skeleton"] == np.asarray(get_keypoint_set("coco17").skeleton).tolist()
    assert [f["frame"] for f in frames] == [0, 1, 2, 3]
    assert [f["time"] for f in frames] == [0.0, round(1 / 30, 6), round(2 / 30, 6), 0.1]
    assert [len(f["persons"]) for f in frames] == [2, 0, 0, 3]
    first = frames[0]["persons"][0]
    poses = packets[0].poses
    assert first["id"] == 1 and frames[0]["persons"][1]["id"] is None  # -1 -> null
    assert [p["id"] for p in frames[3]["persons"]] == [None, None, None]
    assert first["box"] == pytest.approx(poses.boxes[0].tolist(), abs=0.005)
    assert first["score"] == pytest.approx(float(poses.box_scores[0]), abs=5e-5)
    kp = np.array(first["keypoints"])
    assert kp.shape == (K, 3)
    assert kp[:, :2] == pytest.approx(poses.keypoints[0], abs=0.005)
    assert kp[:, 2] == pytest.approx(poses.scores[0], abs=5e-5)
    # Rounded: pixels to 2 decimals, scores to 4.
    assert all(round(v, 2) == v for v in kp[:, :2].ravel())
    assert all(round(v, 4) == v for v in kp[:, 2])


def test_jsonl_lines_are_complete_while_writing(tmp_path: Path) -> None:
    # A killed process must leave complete lines: each call flushes its line.
    path = tmp_path / "live.jsonl"
    sink = JsonlSink(path, {"source": "cam"})
    for i, p in enumerate(_packets()):
        sink(p)
        # written under a temporary name until close() renames it into place
        assert not path.exists() and sink.written_path == sink.partial_path
        text = sink.partial_path.read_text()
        assert text.endswith("\n") and len(text.splitlines()) == i + 2
    sink.close()
    assert not sink.partial_path.exists() and sink.written_path == path
    assert sink.report() == f"wrote {path} (4 frames)"
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink(_packets()[0])
    # A reader tolerates a last line cut off mid-write, and only that.
    with path.open("a") as f:
        f.write('{"frame": 4, "ti')
    _, frames = read_jsonl(path)
    assert len(frames) == 4
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": 1}\nnot json\n{"frame": 0}\n')
    with pytest.raises(SinkError, match="line 2"):
        read_jsonl(broken)


def test_non_finite_values_become_null_not_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "nan.jsonl"
    p = _packets()[0]
    p.poses.scores[0, 0] = np.nan
    p.poses.keypoints[1, 2, 0] = np.inf
    with JsonlSink(path, {}) as sink:
        sink(p)
    for line in path.read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} written"))
    (frame,) = read_jsonl(path)[1]
    assert frame["persons"][0]["keypoints"][0][2] is None
    assert frame["persons"][1]["keypoints"][2][0] is None
    assert frame["persons"][0]["keypoints"][1][2] is not None
    with CsvSink(tmp_path / "nan.csv", [str(i) for i in range(K)]) as csv_sink:
        csv_sink(p)
    with (tmp_path / "nan.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][10] == "" and rows[2][8 + 3 * 2] == ""


def test_csv_one_row_per_person(tmp_path: Path) -> None:
    names = list(get_keypoint_set("coco17").names)
    path = tmp_path / "poses.csv"
    packets = _packets()
    with CsvSink(path, names) as sink:
        for p in packets:
            sink(p)
        assert sink.rows_written == 5
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == csv_columns(names)
    assert rows[0][:8] == ["frame", "time", "id", "x1", "y1", "x2", "y2", "score"]
    assert rows[0][8:11] == [f"{names[0]}_x", f"{names[0]}_y", f"{names[0]}_s"]
    assert len(rows[0]) == 8 + 3 * K
    body = rows[1:]
    assert [r[0] for r in body] == ["0", "0", "3", "3", "3"]
    assert [r[2] for r in body] == ["1", "", "", "", ""]
    poses = packets[3].poses
    r = body[2]
    assert float(r[1]) == pytest.approx(0.1)
    assert [float(v) for v in r[3:7]] == pytest.approx(poses.boxes[0].tolist(), abs=0.005)
    assert float(r[7]) == pytest.approx(float(poses.box_scores[0]), abs=5e-5)
    xs = [float(v) for v in r[8::3]]
    ss = [float(v) for v in r[10::3]]
    assert xs == pytest.approx(poses.keypoints[0, :, 0].tolist(), abs=0.005)
    assert ss == pytest.approx(poses.scores[0].tolist(), abs=5e-5)


def test_csv_keypoint_count_mismatch_is_explained(tmp_path: Path) -> None:
    sink = CsvSink(tmp_path / "x.csv", ["nose", "neck"])
    with pytest.raises(SinkError, match="keypoint names"):
        sink(_packets()[0])
    sink.close()
    sink.close()
