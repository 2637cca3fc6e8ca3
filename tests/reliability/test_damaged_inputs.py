"""Every decodable frame is kept, whatever the file: truncated, damaged, tiny, huge, rotated."""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from poselive.errors import SourceError, StageError
from poselive.graph import Graph
from poselive.sinks import CsvSink, JsonlSink, SinkGroup, VideoSink, read_jsonl
from poselive.sources import VideoFileSource, open_source


def _through_graph(src_path: Path, out_dir: Path) -> tuple[int, int, int, BaseException | None]:
    """File source -> real MP4 + JSONL + CSV sinks (one SinkGroup); (mp4, jsonl, csv frames, error)."""
    src = open_source(src_path)
    sinks = SinkGroup([VideoSink(out_dir / "o.mp4", fps=src.fps or 25, size=src.size,
                                 time_base=src.info["time_base"]),
                       JsonlSink(out_dir / "o.jsonl", {"source": str(src_path)}),
                       CsvSink(out_dir / "o.csv", [])])
    error = None
    try:
        Graph(src, [sinks], queue_size=2).run(handle_signals=False)
    except StageError as exc:
        error = exc
    with av.open(str(out_dir / "o.mp4")) as c:
        mp4 = sum(1 for _ in c.decode(video=0))
    _, frames = read_jsonl(out_dir / "o.jsonl")
    assert [f["frame"] for f in frames] == list(range(len(frames)))
    return mp4, len(frames), sinks.sinks[2].records, error


@pytest.mark.parametrize("faststart", [True, False], ids=["moov-at-start", "moov-at-end"])
@pytest.mark.parametrize("fraction", [0.1, 0.35, 0.5, 0.8, 0.97])
def test_truncated_mp4_keeps_every_decodable_frame(media, tmp_path, faststart, fraction):
    clip = media.write_clip(tmp_path / "c.mp4", n=40, size=(160, 120), faststart=faststart, gop=10, noise=True)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * fraction)])
    reference = media.decodable(cut)
    try:
        src = VideoFileSource(cut)
    except SourceError as exc:
        # nothing decodable (e.g. the index is at the end and was cut off): one clear error
        assert reference == 0, f"{reference} decodable frames but the source refused: {exc}"
        assert "cut.mp4" in str(exc)
        return
    n, error = 0, None
    try:
        for _ in src:
            n += 1
    except SourceError as exc:
        error = exc
    assert n >= reference and n > 0
    if faststart:  # the index announces 40 frames: the cut is reported, after the frames
        assert error is not None and "cut.mp4" in str(error) and "40" in str(error)
    out = tmp_path / "o"
    out.mkdir()
    mp4, jsonl, csv, gerr = _through_graph(cut, out)
    assert mp4 == jsonl == csv == n
    assert (gerr is not None) == (error is not None)


def test_avi_cut_in_half_keeps_every_frame(media, tmp_path):
    # the case: vtest.avi cut at 50 %; here an MJPEG AVI made in the test
    avi = tmp_path / "c.avi"
    vw = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 64))
    for i in range(40):
        vw.write(media.draw(i, (96, 64)))
    vw.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    reference = media.decodable(cut)
    assert 10 < reference < 40
    mp4, jsonl, csv, _ = _through_graph(cut, tmp_path)
    assert mp4 == jsonl == csv >= reference


@pytest.mark.parametrize("kind", ["zero-length", "random-bytes", "audio-only", "text", "mp4-header-only"])
def test_unreadable_files_fail_on_open_with_one_clear_line(media, tmp_path, kind):
    path = tmp_path / f"bad-{kind}.mp4"
    if kind == "zero-length":
        path.write_bytes(b"")
    elif kind == "random-bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    elif kind == "audio-only":
        media.write_audio_only(path)
    elif kind == "text":
        path.write_text("not a video\n" * 100)
    else:
        path.write_bytes(media.write_clip(tmp_path / "c.mp4", n=10).read_bytes()[:600])
    with pytest.raises(SourceError, match=path.name):
        VideoFileSource(path)


def test_unreadable_file_through_the_cli(media, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    r = media.run_cli("process", str(empty), "--json", str(tmp_path / "o.jsonl"), "--quiet", timeout=60)
    assert r.returncode == 1
    media.one_clear_line(r.stderr)
    assert "empty.mp4" in r.stderr and not (tmp_path / "o.jsonl").exists()
    assert not list(tmp_path.glob("*.partial.*"))


@pytest.mark.parametrize("size", [(1, 1), (3840, 2160)], ids=["1x1", "4K"])
def test_tiny_and_huge_frames_round_trip(media, tmp_path, size):
    n = 2 if size[0] > 1000 else 5
    clip = media.write_clip(tmp_path / "c.mp4", n=n, size=size) if size != (1, 1) else None
    if clip is None:  # libx264 cannot encode 1x1 (4:2:0): an MJPEG AVI can
        clip = tmp_path / "c.avi"
        vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
        for i in range(n):
            vw.write(np.full((1, 1, 3), 40 * i, np.uint8))
        vw.release()
    src = VideoFileSource(clip)
    assert src.size == size
    mp4, jsonl, csv, err = _through_graph(clip, tmp_path)
    assert err is None and mp4 == jsonl == csv == n
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (size[0] + size[0] % 2, size[1] + size[1] % 2)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_turns_frames_upright(media, tmp_path, rotation):
    # A phone stores the sensor's frame plus a display matrix; what the user sees is the
    # frame turned by it. Store upright frames turned the other way, with the matrix.
    upright = [media.draw(i, (96, 64)) for i in range(6)]
    code = {90: cv2.ROTATE_90_CLOCKWISE, -90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180}[rotation]
    stored = [cv2.rotate(im, code) for im in upright]
    clip = media.write_clip(tmp_path / "phone.mp4", frames=stored, rotation=rotation)
    src = VideoFileSource(clip)
    assert src.size == (96, 64) and src.info["rotation"] == rotation % 360
    frames = [p.image for p in src]
    assert len(frames) == 6 and frames[0].shape == (64, 96, 3)
    assert float(np.abs(frames[0].astype(int) - upright[0].astype(int)).mean()) < 4  # upright
    assert frames[0][:10, :10].mean() > 200
    mp4, jsonl, csv, err = _through_graph(clip, tmp_path)
    assert err is None and mp4 == 6
    with av.open(str(tmp_path / "o.mp4")) as c:
        first = next(c.decode(video=0))
        assert (first.width, first.height) == (96, 64) and not first.rotation  # plays upright
        img = first.to_ndarray(format="bgr24")
        assert img[:10, :10].mean() > 200 and img[-10:, -10:].mean() < 120  # the white corner top-left


def test_rotated_phone_video_gives_keypoints_in_displayed_coordinates(media, tmp_path):
    """The real pipeline on a rotated copy of the sample finds the same people, in the
    displayed (upright) image's coordinates, as on the upright original."""
    src = VideoFileSource(media.SAMPLE)
    upright = []
    for p in src:
        upright.append(p.image)
        if len(upright) == 4:
            break
    src.close()
    plain = media.write_clip(tmp_path / "plain.mp4", frames=upright, fps=10)
    phone = media.write_clip(tmp_path / "phone.mp4", frames=[cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE) for im in upright],
                             fps=10, rotation=90)
    for name in ("plain", "phone"):
        r = media.run_cli("process", str(tmp_path / f"{name}.mp4"), "--json", str(tmp_path / f"{name}.jsonl"),
                          "--out", str(tmp_path / f"{name}_out.mp4"), "--quiet")
        assert r.returncode == 0, r.stderr
    h_plain, f_plain = read_jsonl(tmp_path / "plain.jsonl")
    h_phone, f_phone = read_jsonl(tmp_path / "phone.jsonl")
    assert h_phone["frame_size"] == h_plain["frame_size"] == [768, 576]
    for a, b in zip(f_plain, f_phone):
        assert len(a["persons"]) == len(b["persons"]) > 0
        boxes_a = sorted(p["box"] for p in a["persons"])
        boxes_b = sorted(p["box"] for p in b["persons"])
        assert np.abs(np.array(boxes_a) - np.array(boxes_b)).max() < 12
    with av.open(str(tmp_path / "phone_out.mp4")) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (768, 576)


def test_variable_frame_rate_timestamps_are_preserved(media, tmp_path):
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.uniform(0.01, 0.2, 25))
    times -= times[0]
    clip = media.write_clip(tmp_path / "vfr.mp4", times=list(times))
    mp4, jsonl, _, err = _through_graph(clip, tmp_path)
    assert err is None and mp4 == jsonl == 25
    _, frames = read_jsonl(tmp_path / "o.jsonl")
    assert [f["time"] for f in frames] == pytest.approx(list(times), abs=2e-3)
    assert media.video_frames(tmp_path / "o.mp4") == pytest.approx(list(times), abs=2e-3)


def _image_folder(media, d: Path, corrupt_at: int) -> Path:
    d.mkdir()
    for i in range(5):
        p = d / f"f{i}.jpg"
        if i == corrupt_at:
            p.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
        else:
            cv2.imwrite(str(p), media.draw(i, (64, 48)))
    return d


@pytest.mark.parametrize("corrupt_at", [0, 2, 4])
def test_corrupt_image_is_skipped_and_counted(media, tmp_path, corrupt_at):
    folder = _image_folder(media, tmp_path / "imgs", corrupt_at)
    src = open_source(folder)
    frames = [p.meta["path"] for p in src]
    assert len(frames) == 4 and f"f{corrupt_at}.jpg" not in " ".join(frames)
    assert [Path(p).name for p, _ in src.skipped] == [f"f{corrupt_at}.jpg"]
    with pytest.raises(SourceError, match=f"f{corrupt_at}.jpg"):
        list(open_source(folder, strict=True))


def test_corrupt_image_through_the_cli(media, tmp_path):
    folder = _image_folder(media, tmp_path / "imgs", 2)
    js = tmp_path / "o.jsonl"
    r = media.run_cli("process", str(folder), "--json", str(js))
    assert r.returncode == 0, r.stderr
    assert "skipped 1 unreadable image" in r.stderr and "f2.jpg" in r.stderr
    assert len(read_jsonl(js)[1]) == 4
    r = media.run_cli("process", str(folder), "--json", str(tmp_path / "s.jsonl"), "--strict", "--quiet")
    assert r.returncode == 1
    media.one_clear_line(r.stderr)
    assert "f2.jpg" in r.stderr
    # the two images before it were written, completely
    assert len(read_jsonl(tmp_path / "s.jsonl")[1]) == 2


def test_truncated_file_through_the_cli(media, tmp_path):
    clip = media.write_clip(tmp_path / "c.mp4", n=40, size=(160, 120), gop=10, noise=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: int(clip.stat().st_size * 0.6)])
    n = sum(1 for _ in _frames_of(cut))
    out, js, csv = tmp_path / "o.mp4", tmp_path / "o.jsonl", tmp_path / "o.csv"
    r = media.run_cli("process", str(cut), "--out", str(out), "--json", str(js), "--csv", str(csv))
    assert r.returncode == 1
    media.one_clear_line(r.stderr)
    assert "cut.mp4" in r.stderr and "truncated" in r.stderr
    assert len(media.video_frames(out)) == len(read_jsonl(js)[1]) == n > 0
    assert f"wrote {out} ({n} frames)" in r.stderr


def _frames_of(path: Path):
    src = VideoFileSource(path)
    try:
        yield from src
    except SourceError:
        return
