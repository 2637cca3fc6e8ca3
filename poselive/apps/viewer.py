"""A minimal live window (PyQt6) that shows the newest rendered frame of a running graph.

The full desktop GUI is its own issue; this viewer is what `--show` and `run_live.py`
use meanwhile. It polls ``graph.latest_result()`` so the display always binds the newest
results to the frame they were computed on, and never slows the pipeline down.
"""

from __future__ import annotations

import signal

import numpy as np

from poselive.errors import require


def _qt():
    return (require("PyQt6.QtWidgets", "gui", "the live window"),
            require("PyQt6.QtCore", "gui", "the live window"),
            require("PyQt6.QtGui", "gui", "the live window"))


def bgr_to_qimage(image: np.ndarray):
    """A QImage that owns a copy of a BGR uint8 image."""
    _, _, QtGui = _qt()
    rgb = np.ascontiguousarray(image[..., ::-1])
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


def make_live_window(graph, title: str = "poselive", poll_ms: int = 15, close_when_done: bool = True):
    """A QLabel that shows the graph's newest result every ``poll_ms`` and closes at the end.

    Its ``frames_shown`` attribute counts distinct frames displayed; ``shown_index`` is the
    index of the frame on screen.
    """
    QtWidgets, QtCore, QtGui = _qt()
    label = QtWidgets.QLabel()
    label.setWindowTitle(title)
    label.setMinimumSize(320, 240)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.resize(960, 720)
    label.frames_shown = 0
    label.shown_index = -1
    label.last_frame_size = None

    def refresh() -> None:
        packet = graph.latest_result()
        if packet is not None and packet.index != label.shown_index:
            label.shown_index = packet.index
            label.frames_shown += 1
            img = packet.rendered if packet.rendered is not None else packet.image
            pix = QtGui.QPixmap.fromImage(bgr_to_qimage(img))
            label.last_frame_size = (pix.width(), pix.height())
            label.setPixmap(pix.scaled(label.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                                       QtCore.Qt.TransformationMode.SmoothTransformation))
        if close_when_done and not graph.is_running():
            label.close()

    label.timer = QtCore.QTimer(label)
    label.timer.timeout.connect(refresh)
    label.timer.start(poll_ms)
    return label


def run_viewer(graph, max_frames: int | None = None, title: str = "poselive", poll_ms: int = 15,
               close_when_done: bool = True, window_out: list | None = None):
    """Start ``graph`` and show its frames until the stream ends or the window closes.

    Returns the graph's final statistics (re-raising a stage error). ``window_out``, when
    given, receives the window (tests inspect it).
    """
    QtWidgets, QtCore, _ = _qt()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = make_live_window(graph, title, poll_ms, close_when_done)
    if window_out is not None:
        window_out.append(window)
    window.destroyed.connect(app.quit)
    app.lastWindowClosed.connect(graph.stop)
    app.lastWindowClosed.connect(app.quit)
    previous = signal.signal(signal.SIGINT, lambda *_: (graph.stop(), app.quit()))
    # Qt's event loop does not return to Python on its own: a no-op timer lets the
    # interpreter run the SIGINT handler while the window is open.
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(100)
    window.show()
    graph.start(max_frames=max_frames)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        wake.stop()
        graph.stop()
    return graph.wait()
