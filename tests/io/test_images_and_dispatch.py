"""Image folder and single-image sources, and open_source's dispatch by spec."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from poselive.errors import ConfigError, SourceError
from poselive.sources import (
    SOURCES,
    ImageFolderSource,
    ImageSource,
    VideoFileSource,
    open_source,
    source_kind,
)


def _folder(tmp_path: Path, helpers) -> Path:
    folder = tmp_path / "imgs"
    folder.mkdir()
    # Written out of order, with numbers that sort wrongly as plain text (10 < 2).
    for number, ext in [(10, ".png"), (2, ".jpg"), (1, ".bmp"), (3, ".PNG"), (11, ".webp")]:
        cv2.imwrite(str(folder / f"f{number}{ext.lower()}"), helpers.draw_frame(number, (160, 120)))
    (folder / "f3.png").rename(folder / "f3.PNG")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_folder_in_natural_order_with_pts_from_fps(tmp_path: Path, helpers) -> None:
    folder = _folder(tmp_path, helpers)
    src = open_source(folder, fps=4)
    assert isinstance(src, ImageFolderSource) and not src.is_live
    assert src.size == (160, 120) and src.info["frames"] == 5 and src.fps == 4
    packets = list(src)
    names = [Path(p.meta["path"]).name for p in packets]
    assert names == ["f1.bmp", "f2.jpg", "f3.PNG", "f10.png", "f11.webp"]
    assert [helpers.frame_number(p.image) for p in packets] == [1, 2, 3, 10, 11]
    assert [p.pts for p in packets] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert [p.index for p in packets] == [0, 1, 2, 3, 4]


def test_bad_image_is_skipped_or_with_strict_raises_naming_it(tmp_path: Path, helpers) -> None:
    folder = _folder(tmp_path, helpers)
    (folder / "f2.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    src = ImageFolderSource(folder)
    names = [Path(p.meta["path"]).name for p in src]
    assert names == ["f1.bmp", "f3.PNG", "f10.png", "f11.webp"]
    assert [p.name for p, _ in src.skipped] == ["f2.jpg"]
    got = []
    with pytest.raises(SourceError, match="f2.jpg"):
        for p in ImageFolderSource(folder, strict=True):
            got.append(p.index)
    assert got == [0]


def test_empty_folder_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        open_source(tmp_path / "empty")
    with pytest.raises(SourceError, match="missing.jpg"):
        open_source(tmp_path / "missing.jpg")
    with pytest.raises(SourceError, match="image folder not found"):
        ImageFolderSource(tmp_path / "nowhere")


def test_single_image(tmp_path: Path, helpers) -> None:
    path = tmp_path / "one.png"
    cv2.imwrite(str(path), helpers.draw_frame(7, (100, 80)))
    src = open_source(str(path))
    assert isinstance(src, ImageSource) and src.size == (100, 80) and src.info["kind"] == "image"
    (packet,) = list(src)
    assert packet.index == 0 and packet.pts == 0.0 and helpers.frame_number(packet.image) == 7
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG garbage")
    with pytest.raises(SourceError, match="broken.png"):
        open_source(broken)


def test_dispatch(tmp_path: Path, clip: Path) -> None:
    assert source_kind(0) == "webcam" and source_kind("1") == "webcam"
    assert source_kind("/dev/video2") == "webcam"
    assert source_kind("rtsp://cam.local/stream") == "rtsp"
    assert source_kind("RTSPS://cam.local/stream") == "rtsp"
    assert source_kind(tmp_path) == "folder"
    assert source_kind("x/photo.JPEG") == "image"
    assert source_kind(clip) == "video" and source_kind("http://host/live.m3u8") == "video"
    assert set(SOURCES) == {"video", "webcam", "rtsp", "folder", "image"}
    assert isinstance(open_source(str(clip)), VideoFileSource)
    with pytest.raises(ConfigError, match="transport"):
        open_source(clip, transport="udp")
    with pytest.raises(ConfigError, match="unknown source kind"):
        open_source(clip, kind="carrier-pigeon")


def test_no_camera_is_a_clear_error() -> None:
    # This machine has no camera; skip if one ever appears, rather than grab it.
    if Path("/dev/video0").exists():
        pytest.skip("a camera is present")
    with pytest.raises(SourceError, match="no camera at index 0"):
        open_source(0)
    with pytest.raises(SourceError, match="no camera at index 3"):
        open_source("3")
    with pytest.raises(SourceError, match="/dev/video9"):
        open_source("/dev/video9")
