"""VideoSink: H.264 yuv420p MP4 with the input's timestamps, audio copy, early close."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from poselive.errors import SinkError
from poselive.sinks import VideoSink, even_size
from poselive.sources import VideoFileSource
from poselive.types import FramePacket


def _probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = {
            "codec": v.codec_context.name,
            "pix_fmt": v.codec_context.pix_fmt,
            "size": (v.codec_context.width, v.codec_context.height),
            "audio": [a.codec_context.name for a in c.streams.audio],
        }
        frames = list(c.decode(v))
        info["pts"] = [f.time for f in frames]
        info["images"] = [f.to_ndarray(format="bgr24") for f in frames]
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            ends = [float((p.pts + p.duration) * p.time_base) for p in c.demux(a) if p.size]
            info["audio_end"] = max(ends)
    return info


def _copy(src_path: Path, out: Path, limit: int | None = None, **kwargs) -> tuple[list[float], VideoSink]:
    src = VideoFileSource(src_path)
    sink = VideoSink(out, src.fps, src.size, time_base=src.info["time_base"], **kwargs)
    pts = []
    for p in src:
        assert sink(p) is p
        pts.append(p.pts)
        if limit is not None and len(pts) == limit:
            break
    src.close()
    sink.close()
    sink.close()  # twice is fine
    return pts, sink


def test_round_trip_keeps_every_frame_and_timestamp(clip: Path, tmp_path: Path, helpers) -> None:
    out = tmp_path / "out.mp4"
    pts, sink = _copy(clip, out)
    info = _probe(out)
    assert sink.frames_written == 60 and len(info["pts"]) == 60
    assert info["pts"] == pytest.approx(pts, abs=1e-6)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["audio"] == []
    assert [helpers.frame_number(im) for im in info["images"]] == list(range(60))
    head = out.read_bytes()
    assert 0 <= head.find(b"moov") < head.find(b"mdat"), "fragmented: the (empty) index before the data"


def test_variable_frame_rate_timestamps_survive(make_clip, tmp_path: Path) -> None:
    times = [0.0, 0.04, 0.2, 0.24, 0.5, 0.52, 1.0, 1.3]
    pts, _ = _copy(make_clip("vfr.mp4", times=times), tmp_path / "vfr_out.mp4")
    assert _probe(tmp_path / "vfr_out.mp4")["pts"] == pytest.approx(times, abs=1e-6)


def test_rendered_image_is_written_and_odd_sizes_are_padded(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    sink = VideoSink(out, fps=10, size=(101, 75))
    assert sink.out_size == even_size((101, 75)) == (102, 76)
    for i in range(5):
        image = np.zeros((75, 101, 3), np.uint8)
        rendered = np.full((75, 101, 3), 200, np.uint8)  # what the renderer drew
        sink(FramePacket(index=i, pts=i / 10, image=image, rendered=rendered if i % 2 else None))
    sink.close()
    info = _probe(out)
    assert info["size"] == (102, 76)
    means = [float(im[:75, :101].mean()) for im in info["images"]]
    assert [m > 150 for m in means] == [False, True, False, True, False]
    assert info["pts"] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4], abs=1e-6)


def test_audio_is_copied_up_to_the_last_video_frame(make_clip, tmp_path: Path) -> None:
    src = make_clip("with_audio.mp4", audio="aac")
    out = tmp_path / "with_audio_out.mp4"
    pts, sink = _copy(src, out, audio_from=src)
    info = _probe(out)
    assert sink.audio_mode == "copy" and info["audio"] == ["aac"] and len(info["pts"]) == 60
    video_end = pts[-1] + 1 / 25
    assert abs(info["audio_end"] - video_end) < 0.15  # within a couple of AAC frames

    # Stopped after 20 frames: the audio stops there too.
    short = tmp_path / "short.mp4"
    pts, _ = _copy(src, short, limit=20, audio_from=src)
    info = _probe(short)
    assert len(info["pts"]) == 20 and info["audio"] == ["aac"]
    assert info["audio_end"] <= pts[-1] + 1 / 25 + 0.07
    assert info["audio_end"] > pts[-1] - 0.1


def test_audio_in_a_codec_mp4_cannot_carry_is_transcoded_to_aac(make_clip, tmp_path: Path) -> None:
    src = make_clip("pcm.mov", audio="pcm_s16le")
    out = tmp_path / "pcm_out.mp4"
    pts, sink = _copy(src, out, audio_from=src)
    info = _probe(out)
    assert sink.audio_mode == "aac" and info["audio"] == ["aac"] and len(info["pts"]) == 60
    assert abs(info["audio_end"] - (pts[-1] + 1 / 25)) < 0.15


def test_audio_from_a_silent_video_writes_no_audio(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "silent.mp4"
    _, sink = _copy(clip, out, audio_from=clip)
    assert sink.audio_mode is None and _probe(out)["audio"] == []


def test_closing_early_leaves_a_playable_file(clip: Path, tmp_path: Path) -> None:
    # What the graph does on Ctrl-C: stop feeding after 10 frames and close().
    out = tmp_path / "partial.mp4"
    pts, _ = _copy(clip, out, limit=10)
    info = _probe(out)
    assert len(info["pts"]) == 10 and info["pts"] == pytest.approx(pts, abs=1e-6)
    assert sum(1 for _ in VideoFileSource(out)) == 10


def test_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SinkError, match="file"):
        VideoSink(blocker / "out.mp4", fps=10, size=(64, 48))
    with pytest.raises(SinkError, match="fps"):
        VideoSink(tmp_path / "a.mp4", fps=0, size=(64, 48))
    sink = VideoSink(tmp_path / "b.mp4", fps=10, size=(64, 48))
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink(FramePacket(index=0, pts=0.0, image=np.zeros((48, 64, 3), np.uint8)))


def test_size_from_the_first_frame_when_not_given(tmp_path: Path) -> None:
    out = tmp_path / "lazy.mp4"
    sink = VideoSink(out, fps=15, size=None)
    assert not out.exists() and sink.input_policy == "lossless"
    for i in range(3):
        sink(FramePacket(index=i, pts=i / 15, image=np.full((33, 50, 3), 90, np.uint8)))
    sink.close()
    info = _probe(out)
    assert sink.size == (50, 33) and info["size"] == (50, 34) and len(info["pts"]) == 3
    unused = VideoSink(tmp_path / "never.mp4", fps=15, size=None)
    unused.close()
    assert not (tmp_path / "never.mp4").exists()
