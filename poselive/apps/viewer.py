"""A minimal live window (PyQt6) that shows the newest rendered frame of a running graph.

The full desktop GUI is its own issue; this viewer is what `--show` and `run_live.py`
use meanwhile. It polls ``graph.latest_result()`` so the display always binds the newest
results to the frame they were computed on, and never slows the pipeline down.
"""

from __future__ import annotations

import signal

import numpy as np

from poselive.errors import require


def bgr_to_qimage(image: np.ndarray):
    """A QImage that owns a copy of a BGR uint8 image."""
    QtGui = require("PyQt6.QtGui", "gui", "the live window")
    rgb = np.ascontiguousarray(image[..., ::-1])
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


def run_viewer(graph, max_frames: int | None = None, title: str = "poselive", poll_ms: int = 15,
               close_when_done: bool = True):
    """Start ``graph``, show its frames until the stream ends or the window closes."""
    QtWidgets = require("PyQt6.QtWidgets", "gui", "the live window")
    QtCore = require("PyQt6.QtCore", "gui", "the live window")
    QtGui = require("PyQt6.QtGui", "gui", "the live window")

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    label = QtWidgets.QLabel()
    label.setWindowTitle(title)
    label.setMinimumSize(320, 240)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.resize(960, 720)
    label.show()
    shown = {"index": -1}

    def refresh() -> None:
        packet = graph.latest_result()
        if packet is not None and packet.index != shown["index"]:
            shown["index"] = packet.index
            img = packet.rendered if packet.rendered is not None else packet.image
            pix = QtGui.QPixmap.fromImage(bgr_to_qimage(img))
            label.setPixmap(pix.scaled(label.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                                       QtCore.Qt.TransformationMode.SmoothTransformation))
        if not graph.is_running() and close_when_done:
            label.close()
            app.quit()

    timer = QtCore.QTimer()
    timer.timeout.connect(refresh)
    timer.start(poll_ms)
    app.lastWindowClosed.connect(graph.stop)
    previous = signal.signal(signal.SIGINT, lambda *_: (graph.stop(), app.quit()))
    graph.start(max_frames=max_frames)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        graph.stop()
    return graph.wait()
