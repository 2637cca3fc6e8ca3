"""VideoFileSource: every frame in order with exact timestamps; corrupt and missing files."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from poselive.errors import SourceError
from poselive.sources import VideoFileSource, open_source


def test_every_frame_in_order_with_exact_pts(clip: Path, helpers) -> None:
    src = open_source(clip)
    assert isinstance(src, VideoFileSource)
    assert not src.is_live and src.fps == 25.0 and src.size == (160, 120)
    assert src.info["kind"] == "file" and src.info["frames"] == 60 and not src.info["has_audio"]
    packets = list(src)
    assert [p.index for p in packets] == list(range(60))
    assert [helpers.frame_number(p.image) for p in packets] == list(range(60))
    assert [p.pts for p in packets] == pytest.approx([i / 25 for i in range(60)], abs=1e-9)
    assert packets[0].image.dtype == np.uint8 and packets[0].image.shape == (120, 160, 3)
    src.close()
    src.close()


def test_variable_frame_rate_keeps_the_files_timestamps(make_clip, helpers) -> None:
    # Irregular gaps: index / fps would be wrong, the source must give the stored pts.
    times = [0.0, 0.04, 0.2, 0.24, 0.5, 0.52, 1.0, 1.3]
    path = make_clip("vfr.mp4", times=times)
    packets = list(VideoFileSource(path))
    assert [p.pts for p in packets] == pytest.approx(times, abs=1e-6)
    assert [helpers.frame_number(p.image) for p in packets] == list(range(len(times)))


def test_truncated_file_yields_frames_then_raises_naming_file_and_frame(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    got = []
    with pytest.raises(SourceError) as err:
        for p in VideoFileSource(cut):
            got.append(p.index)
    assert 0 < len(got) < 60 and got == list(range(len(got)))
    assert "cut.mp4" in str(err.value) and f"frame {len(got)}" in str(err.value)


def test_garbage_inside_file_yields_frames_then_raises(clip: Path, tmp_path: Path) -> None:
    data = bytearray(clip.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    got = []
    with pytest.raises(SourceError) as err:
        for p in VideoFileSource(bad):
            got.append(p.index)
    assert len(got) > 0 and got == list(range(len(got)))
    assert "bad.mp4" in str(err.value) and f"frame {len(got)}" in str(err.value)


def test_missing_and_non_video_files_fail_on_open(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nope.mp4"):
        open_source(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match="junk.mp4"):
        open_source(junk)
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    with pytest.raises(SourceError, match="notes.txt"):
        open_source(text)


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=16000)
        a.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for p in a.encode(frame):
            out.mux(p)
        for p in a.encode():
            out.mux(p)
    with pytest.raises(SourceError, match="no video stream"):
        VideoFileSource(path)


def test_close_from_another_thread_ends_iteration(clip: Path) -> None:
    src = VideoFileSource(clip)
    seen = []
    for p in src:
        seen.append(p.index)
        if p.index == 4:
            t = threading.Thread(target=src.close)
            t.start()
            t.join()
    assert seen == [0, 1, 2, 3, 4]
    with pytest.raises(SourceError, match="already read"):
        next(iter(src))


@pytest.mark.shared
def test_vtest_avi_from_shared(shared: Path) -> None:
    path = shared / "data" / "videos" / "vtest.avi"
    if not path.is_file():
        pytest.skip("vtest.avi not in shared data")
    src = open_source(path)
    assert src.fps == 10.0 and src.size == (768, 576) and src.info["frames"] == 795
    n = 0
    last = -1.0
    for p in src:
        assert p.index == n and p.pts == pytest.approx(n / 10) and p.pts > last
        last = p.pts
        n += 1
        if n == 120:  # enough to check order and timing; keeps the test fast
            break
    src.close()
    assert n == 120
