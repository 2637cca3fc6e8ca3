"""A real video file through the graph: every frame read reaches a sink that must finalise."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import av
import numpy as np
import pytest

from poselive.graph import Graph
from poselive.graph.testing import SleepStage
from poselive.types import FramePacket

N, W, H, FPS = 48, 160, 120, 24


def frame_image(i: int) -> np.ndarray:
    """Frame i shows i in binary as 8 black/white bars, which survive lossy coding."""
    img = np.zeros((H, W, 3), np.uint8)
    for bit in range(8):
        if i >> bit & 1:
            img[:, bit * (W // 8):(bit + 1) * (W // 8)] = 255
    return img


def frame_number(img: np.ndarray) -> int:
    """Read the number frame_image() drew."""
    bars = img.reshape(H, 8, W // 8, 3).mean(axis=(0, 2, 3))
    return int(sum(1 << b for b in range(8) if bars[b] > 128))


def write_clip(path: Path) -> None:
    """A real H.264 (or MPEG-4) clip whose frame i shows the number i."""
    with av.open(str(path), "w") as out:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        st = out.add_stream(codec, rate=FPS)
        st.width, st.height, st.pix_fmt = W, H, "yuv420p"
        for i in range(N):
            img = frame_image(i)
            out.mux(st.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        out.mux(st.encode(None))


def read_numbers(path: Path) -> list[int]:
    """The number shown by every decoded frame of a file."""
    with av.open(str(path)) as c:
        return [frame_number(f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]


class FileSource:
    """Decodes a file with PyAV; ``live`` paces it and flags it like a camera."""

    def __init__(self, path: Path, live: bool = False) -> None:
        self.name, self.path, self.is_live = "file", path, live
        self.fps: float | None = float(FPS)
        self.size: tuple[int, int] | None = (W, H)
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[FramePacket]:
        t0 = time.perf_counter()
        with av.open(str(self.path)) as c:  # opened and closed by the reading thread
            for i, frame in enumerate(c.decode(video=0)):
                if self.is_live and self._closed.wait(max(0.0, t0 + i / 100.0 - time.perf_counter())):
                    return
                if self._closed.is_set():
                    return
                yield FramePacket(index=i, pts=float(frame.time or 0.0),
                                  image=frame.to_ndarray(format="bgr24"))

    def close(self) -> None:
        self._closed.set()


class VideoFileSink:
    """Encodes every packet it gets; the file is only playable after close()."""

    input_policy = "lossless"  # never lose a rendered frame, even on a live graph

    def __init__(self, path: Path) -> None:
        self.name, self.path = "video_out", path
        self._out = None
        self._stream = None
        self.close_calls = 0

    def __call__(self, packet: FramePacket) -> FramePacket:
        if self._out is None:
            self._out = av.open(str(self.path), "w")
            self._stream = self._out.add_stream("mpeg4", rate=FPS)
            self._stream.width, self._stream.height = packet.width, packet.height
            self._stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame.from_ndarray(packet.image, format="bgr24")
        self._out.mux(self._stream.encode(frame))
        return packet

    def close(self) -> None:
        self.close_calls += 1
        if self._out is not None:
            self._out.mux(self._stream.encode(None))  # flush delayed frames
            self._out.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("graph") / "in.mp4"
    write_clip(path)
    return path


def test_file_graph_writes_every_frame_in_order(clip: Path, tmp_path: Path) -> None:
    sink = VideoFileSink(tmp_path / "out.mp4")
    stats = Graph(FileSource(clip), [SleepStage("work", 0.002), sink], queue_size=2).run()
    assert stats.frames_in == stats.frames_out == N and stats.drops == 0
    assert sink.close_calls == 1
    assert read_numbers(clip) == list(range(N))  # the decoder reads what was drawn
    assert read_numbers(sink.path) == list(range(N))


def test_live_graph_drops_upstream_but_records_every_processed_frame(
    clip: Path, tmp_path: Path
) -> None:
    sink = VideoFileSink(tmp_path / "live.mp4")
    slow = SleepStage("slow", 0.025)  # 40 fps against a 100 fps "camera"
    stats = Graph(FileSource(clip, live=True), [slow, sink], queue_size=1).run()
    assert stats.stages["slow"].policy == "latest" and stats.stages["video_out"].policy == "lossless"
    assert stats.stages["slow"].drops > 0 and stats.stages["video_out"].drops == 0
    assert stats.frames_out == len(slow.seen) < N
    assert read_numbers(sink.path) == slow.seen  # every processed frame, in order
