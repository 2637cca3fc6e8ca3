"""The desktop GUI: a real window (offscreen) on real clips with the shipped ONNX models."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6.QtWidgets")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from poselive.apps.gui.session import ModelCache, Settings  # noqa: E402
from poselive.apps.gui.window import MainWindow  # noqa: E402
from poselive.assets import asset_dir  # noqa: E402
from poselive.sinks import read_jsonl  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ASSETS = asset_dir()  # the shipped files (package data)
SAMPLE = ASSETS / "sample.mp4"
DEFAULT_MODELS = [ASSETS / "poselive-det-nano.onnx", ASSETS / "poselive-pose-lightning.onnx"]

pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(not SAMPLE.is_file() or not all(p.is_file() for p in DEFAULT_MODELS),
                                 reason="the shipped sample clip and models are needed")]


@pytest.fixture(scope="module")
def models():
    """One pair of opened engines for every window of this module (as several sources share them)."""
    return ModelCache()


@pytest.fixture
def window(qtbot, tmp_path, models):
    """Open a window; the test adds sources. Closing it is checked for leftover threads."""
    made = []

    def make(sources=(), extra=None, **settings):
        w = MainWindow(list(sources), settings=Settings(**settings), settings_file=str(tmp_path / "gui.ini"),
                       output_dir=str(tmp_path / "out"), models=models, pipeline_extra=extra)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
    assert not _pipeline_threads(), _pipeline_threads()


def _pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("graph:", "gui:"))]


def _wait_frames(qtbot, w, n, timeout=30_000):
    start = w.view.frames_shown
    qtbot.waitUntil(lambda: w.view.frames_shown >= start + n, timeout=timeout)


def test_overlay_plots_pause_and_snapshot(qtbot, window):
    w = window([str(SAMPLE)], loop=True, trails=True)
    s = w.selected
    # The overlay: the frame on screen differs from the camera image where persons are.
    qtbot.waitUntil(lambda: s.take_latest() is not None and w.view.frames_shown > 3, timeout=30_000)

    def shown_with_persons():
        pkt = s._latest
        return pkt is not None and pkt.poses is not None and len(pkt.poses) and s.shown_index == pkt.index

    qtbot.waitUntil(shown_with_persons, timeout=30_000)
    pkt, shown = s._latest, s.shown
    assert shown.shape == pkt.image.shape and shown is not pkt.image
    diff = np.abs(shown.astype(int) - pkt.image.astype(int)).sum(-1) > 0
    inside = np.zeros_like(diff)
    for x1, y1, x2, y2 in pkt.poses.boxes.astype(int):
        inside[max(0, y1):y2 + 1, max(0, x1):x2 + 1] = True
    assert diff[inside].mean() > 0.02  # skeletons and boxes are drawn on the persons
    # With every overlay toggle off the raw frame is shown.
    for c in (w.panel.boxes_check, w.panel.ids_check, w.panel.skeleton_check, w.panel.trails_check,
              w.panel.hud_check):
        c.setChecked(False)
    qtbot.waitUntil(lambda: not s.settings.boxes and not s.settings.hud, timeout=5_000)
    _wait_frames(qtbot, w, 2)
    assert s is w.selected  # toggles apply live, no rebuild
    latest = s._latest
    qtbot.waitUntil(lambda: s.shown_index >= latest.index, timeout=10_000)
    assert s.shown is s._latest.image or np.array_equal(s.shown, s._latest.image)

    # The plots receive a point per second.
    qtbot.waitUntil(lambda: w.plots.points >= 2, timeout=10_000)
    xs, ys = w.plots.curves["fps:fps"].getData()
    assert len(xs) >= 2 and np.nanmax(ys) > 0
    assert any(k.startswith("stages:") and len(c.getData()[0]) for k, c in w.plots.curves.items())

    # Pause (the space key): nothing new is shown; resume: frames come again.
    from PyQt6 import QtCore

    w.activateWindow()
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: s.health() == "paused", timeout=2_000)
    qtbot.wait(700)  # let frames in flight arrive
    held = w.view.frames_shown
    qtbot.wait(1000)
    assert w.view.frames_shown == held
    assert "paused" in w.health_label.text()
    w.toggle_pause()
    _wait_frames(qtbot, w, 3)

    # F: the video alone, full screen; F again: the panels are back.
    qtbot.keyClick(w, QtCore.Qt.Key.Key_F)
    qtbot.waitUntil(lambda: w.isFullScreen() and not w.dock.isVisible(), timeout=3_000)
    qtbot.keyClick(w, QtCore.Qt.Key.Key_F)
    qtbot.waitUntil(lambda: not w.isFullScreen() and w.dock.isVisible(), timeout=3_000)

    # Snapshot: a PNG of the frame on screen.
    png = w.snapshot()
    import cv2

    img = cv2.imread(str(png))
    assert png.suffix == ".png" and img is not None and img.shape == s.shown.shape


def test_recording_writes_as_many_frames_as_recorded(qtbot, window, tmp_path):
    import av

    w = window([str(SAMPLE)], realtime=False, loop=True)
    qtbot.waitUntil(lambda: w.selected.health() == "live", timeout=30_000)
    mp4 = w.toggle_record()
    assert mp4 is not None and w.recording is w.selected
    qtbot.waitUntil(lambda: w.selected.recorded_frames >= 12, timeout=30_000)
    w.toggle_record()
    frames = w.selected.recorded_frames
    assert frames >= 12
    with av.open(str(mp4)) as c:
        decoded = sum(1 for _ in c.decode(c.streams.video[0]))
    header, lines = read_jsonl(mp4.with_suffix(".jsonl"))
    assert decoded == frames == len(lines)
    assert header["keypoint_set"] == "coco17"
    assert [ln["frame"] for ln in lines] == sorted(ln["frame"] for ln in lines)


@pytest.mark.shared
def test_switch_source_and_model_while_running(qtbot, window, shared, tmp_path):
    vtest = shared / "data" / "videos" / "vtest.avi"
    w = window([str(SAMPLE)], realtime=False, loop=True)
    _wait_frames(qtbot, w, 3)
    first = w.selected
    # Another source in the same view.
    second = w.open_source(str(vtest))
    assert second is w.selected and second is not first
    qtbot.waitUntil(lambda: getattr(second, "shown", None) is not None, timeout=30_000)
    assert second.name == "vtest" and "vtest" in w.health_label.text()
    # A model file that is not a model: the error is in the status bar; the window stays usable.
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    w.set_models(pose=str(bad))
    qtbot.waitUntil(lambda: w.selected.health() == "error", timeout=30_000)
    qtbot.waitUntil(lambda: "broken.onnx" in w.health_label.text(), timeout=5_000)
    assert "broken.onnx" in w.view.message
    # Another model file: the teacher MoveNet, then back to the shipped models.
    teachers = shared / "data" / "teachers"
    if (teachers / "movenet-lightning.onnx").is_file():
        w.set_models(pose=str(teachers / "movenet-lightning.onnx"))
        qtbot.waitUntil(lambda: w.selected.health() == "live" and "movenet-lightning" in w.models_label.text(),
                        timeout=30_000)
        _wait_frames(qtbot, w, 3)
    w.set_models(det=None, pose=None)
    qtbot.waitUntil(lambda: w.selected.health() == "live" and "poselive-pose-lightning" in w.models_label.text(),
                    timeout=30_000)
    _wait_frames(qtbot, w, 3)
    assert w.selected.name == "vtest"


def test_dead_rtsp_url_no_camera_and_a_stage_error_are_errors_in_the_window(qtbot, window, tmp_path):
    # A clip cut short: its source fails part-way, while the graph runs.
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(SAMPLE.read_bytes()[: SAMPLE.stat().st_size // 2])
    w = window([str(cut)], realtime=False)
    qtbot.waitUntil(lambda: w.selected.health() == "error", timeout=30_000)
    assert w.view.frames_shown > 0  # it ran before it failed
    qtbot.waitUntil(lambda: "truncated" in w.health_label.text() and "truncated" in w.view.message,
                    timeout=5_000)
    w.open_source("7")  # no camera 7 here
    qtbot.waitUntil(lambda: w.selected.health() == "error", timeout=30_000)
    qtbot.waitUntil(lambda: "camera" in w.health_label.text().lower() and "camera" in w.view.message.lower(),
                    timeout=5_000)
    w.open_source("rtsp://127.0.0.1:1/x")
    qtbot.waitUntil(lambda: w.selected.health() == "error", timeout=30_000)
    qtbot.waitUntil(lambda: "error" in w.health_label.text() and "127.0.0.1" in w.health_label.text(),
                    timeout=5_000)
    # Still usable: pick something else.
    w.open_source(str(SAMPLE))
    _wait_frames(qtbot, w, 3)
    assert "live" in w.health_label.text()


def test_tiles_select_and_closing_stops_every_thread(qtbot, window):
    w = window([str(SAMPLE), str(SAMPLE)], realtime=False, loop=True)
    a, b = w.sessions
    assert w.selected is a and (a.name, b.name) == ("sample", "sample_2")
    qtbot.waitUntil(lambda: all(w.tiles[s].view.frames_shown >= 2 for s in w.sessions), timeout=30_000)
    assert "sample_2" in w.tiles[b].label.text() and "live" in w.tiles[b].label.text()
    from PyQt6 import QtCore

    # A click on a tile makes it the large view, and the controls act on it.
    qtbot.mouseClick(w.tiles[b].view, QtCore.Qt.MouseButton.LeftButton)
    assert w.selected is b and "sample_2" in w.health_label.text()
    w.toggle_pause()
    qtbot.waitUntil(lambda: b.health() == "paused", timeout=2_000)
    assert a.health() == "live"
    qtbot.mouseClick(w.tiles[a].view, QtCore.Qt.MouseButton.LeftButton)
    assert w.selected is a
    assert _pipeline_threads()
    w.close()
    assert w.close_time_s is not None and not _pipeline_threads()
    assert all(s.health() == "stopped" for s in (a, b))


@pytest.mark.slow
def test_real_window_under_xvfb(tmp_path):
    """run_live.py opens the real (xcb) window under a virtual X server and exits cleanly."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    display = f":{90 + os.getpid() % 100}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        if xvfb.poll() is not None:
            pytest.skip("Xvfb did not start")
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
               "POSELIVE_GUI_SETTINGS": str(tmp_path / "gui.ini")}
        r = subprocess.run([sys.executable, str(REPO / "run_live.py"), "--source", str(SAMPLE),
                            "--max-frames", "8", "--fast", "--out", str(tmp_path / "x.mp4")],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        if "could not connect to display" in r.stderr or "xcb" in r.stderr and r.returncode != 0:
            pytest.skip(f"no usable xcb platform: {r.stderr.strip()[-200:]}")
        assert r.returncode == 0, r.stderr
        assert "[sample] 8/8 frames" in r.stderr and "Traceback" not in r.stderr
        assert len(read_jsonl(tmp_path / "x.jsonl")[1]) == 8
    finally:
        xvfb.terminate()
        xvfb.wait(5)


def test_settings_persist_between_runs(qtbot, tmp_path, models):
    ini = str(tmp_path / "persist.ini")
    w = MainWindow([], settings_file=ini, output_dir=str(tmp_path), models=models)
    qtbot.addWidget(w)
    w.panel.interval_spin.setValue(3)
    w.panel.trails_check.setChecked(True)
    w.panel.realtime_check.setChecked(False)
    w.close()
    w2 = MainWindow([], settings_file=ini, output_dir=str(tmp_path), models=models)
    qtbot.addWidget(w2)
    s = w2.panel.settings()
    assert (s.det_interval, s.trails, s.realtime) == (3, True, False)
    w2.close()


def test_a_file_that_ends_leaves_the_window_open_and_plays_again(qtbot, window, tmp_path):
    from poselive.sinks import VideoSink
    from poselive.sources import open_source

    short = tmp_path / "short.mp4"  # the sample's first 8 frames
    src = open_source(str(SAMPLE))
    with VideoSink(short, fps=src.fps, size=src.size) as sink:
        for p in src:
            sink(p)
            if p.index == 7:
                break
    src.close()
    w = window([str(short)], realtime=False)
    qtbot.waitUntil(lambda: w.selected.health() == "ended", timeout=30_000)
    qtbot.waitUntil(lambda: "ended" in w.health_label.text() and "ended" in w.view.message, timeout=5_000)
    assert w.isVisible() and w.view.frames_shown >= 1
    first = w.selected
    w.toggle_running()  # Start: from the beginning again
    qtbot.waitUntil(lambda: w.selected is not first and w.selected.health() == "ended", timeout=30_000)
    assert w.selected.stats().frames_out == 8


def test_command_line_flags_without_a_control_reach_every_pipeline(qtbot, window):
    w = window([str(SAMPLE)], extra={"track": False}, realtime=False, loop=True)
    s = w.selected
    qtbot.waitUntil(lambda: s._latest is not None, timeout=30_000)
    assert "tracker" not in s._latest.timings and "pose" in s._latest.timings
    w.panel.interval_spin.setValue(2)  # a rebuild keeps them
    qtbot.waitUntil(lambda: w.selected is not s and w.selected._latest is not None, timeout=30_000)
    assert w.selected.extra == {"track": False}
