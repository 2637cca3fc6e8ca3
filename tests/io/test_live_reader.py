"""The newest-frame reader behind webcams and RTSP, driven by a real cv2.VideoCapture."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from poselive.errors import SourceError
from poselive.sources import LatestFrameReader, WebcamSource


def test_webcam_reader_hands_out_newest_frames_only(make_clip, helpers) -> None:
    # OpenCV opens a video file like a device; it delivers frames much faster than this
    # deliberately slow consumer, so the reader must skip ahead, never queue a backlog.
    path = make_clip("cam.mp4", n=120, size=(320, 120))
    src = WebcamSource(str(path))
    assert src.is_live and src.size == (320, 120) and src.info["kind"] == "webcam"
    packets = []
    for p in src:
        packets.append(p)
        time.sleep(0.03)
    seqs = [p.index for p in packets]
    assert seqs == sorted(set(seqs)), "frames must come out newest-first, never repeated"
    # Each image is the frame its sequence number says: no mix-up between slot and image.
    assert all(helpers.frame_number(p.image) == p.index for p in packets)
    assert seqs[-1] == 119, "the last frame the device delivered is handed out"
    assert src.dropped > 0 and src.dropped + len(packets) == 120
    assert all(b > a for a, b in zip([p.pts for p in packets], [p.pts for p in packets[1:]]))
    src.close()
    src.close()


def test_close_from_another_thread_ends_a_blocked_iteration() -> None:
    release = threading.Event()
    calls = []

    def read():
        if calls:
            release.wait(5)  # a device that hangs after one frame
            return None
        calls.append(1)
        return np.zeros((4, 4, 3), np.uint8), None

    reader = LatestFrameReader(read, "hang").start()
    assert reader.wait_first(2)
    assert reader.take(1) is not None
    got: list[object] = []
    t = threading.Thread(target=lambda: got.append(reader.take(30)))
    t.start()
    time.sleep(0.1)
    reader.stop()
    t.join(2)
    assert not t.is_alive() and got == [None]
    release.set()
    assert reader.join(2)


def test_reader_errors_reach_the_consumer() -> None:
    def read():
        raise OSError("device unplugged")

    reader = LatestFrameReader(read, "broken").start()
    assert not reader.wait_first(2)
    assert reader.take(1) is None and reader.finished
    assert isinstance(reader.error, OSError)


def test_webcam_that_delivers_nothing_fails_on_open(tmp_path: Path) -> None:
    # A file OpenCV can open but not read a frame from: opened, yet no frames.
    path = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    writer.release()
    with pytest.raises(SourceError, match="empty.avi"):
        WebcamSource(str(path), open_timeout=1.0)
