"""A minimal live window (PyQt6) that shows the newest rendered frame of a running graph
(or a grid of tiles, one per graph, for several sources).

The desktop GUI (`poselive.apps.gui`, `run_live.py`) is the full application; this small
viewer is what `poselive process --show` uses. It polls ``graph.latest_result()`` so the display always binds the newest
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


def make_grid_window(graphs, titles: list[str] | None = None, title: str = "poselive", poll_ms: int = 15,
                     close_when_done: bool = True):
    """One window with a tile per graph (several cameras or streams), in a near-square grid.

    Each tile is a live window (``make_live_window``) that shows its graph's newest result;
    ``tiles`` lists them. The window closes when every graph has ended."""
    import math

    QtWidgets, QtCore, _ = _qt()
    window = QtWidgets.QWidget()
    window.setWindowTitle(title)
    grid = QtWidgets.QGridLayout(window)
    grid.setContentsMargins(2, 2, 2, 2)
    grid.setSpacing(2)
    cols = max(1, math.ceil(math.sqrt(len(graphs))))
    window.tiles = []
    for i, g in enumerate(graphs):
        name = titles[i] if titles and i < len(titles) else str(i)
        tile = make_live_window(g, name, poll_ms, close_when_done=False)
        tile.name = name
        tile.setToolTip(name)
        tile.resize(480, 360)
        grid.addWidget(tile, i // cols, i % cols)
        window.tiles.append(tile)
    rows = math.ceil(len(graphs) / cols)
    window.resize(min(1920, 480 * cols), min(1080, 360 * rows))

    def check_done() -> None:
        if close_when_done and not any(g.is_running() for g in graphs):
            window.close()

    window.done_timer = QtCore.QTimer(window)
    window.done_timer.timeout.connect(check_done)
    window.done_timer.start(max(poll_ms, 50))
    return window


def run_viewer(graph, max_frames: int | None = None, title: str = "poselive", poll_ms: int = 15,
               close_when_done: bool = True, window_out: list | None = None, titles: list[str] | None = None):
    """Start ``graph`` and show its frames until the stream ends or the window closes.

    Returns the graph's final statistics (re-raising a stage error). ``graph`` may be a
    list of graphs (one per source): they show as tiles of one window (``titles`` names
    them), all start together, closing the window stops them all, and the return value is
    None (collect each graph's outcome with ``poselive.graph.multi.collect``).
    ``window_out``, when given, receives the window (tests inspect it).
    """
    from poselive.graph.multi import start_graphs

    QtWidgets, QtCore, _ = _qt()
    several = isinstance(graph, (list, tuple))
    graphs = list(graph) if several else [graph]
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    if several:
        window = make_grid_window(graphs, titles, title, poll_ms, close_when_done)
    else:
        window = make_live_window(graph, title, poll_ms, close_when_done)
    if window_out is not None:
        window_out.append(window)

    def stop_all() -> None:
        for g in graphs:
            g.stop()

    # A local event loop that ends when this window closes: the application object may be
    # shared with other windows (the GUI, tests), so neither its quit() nor its
    # lastWindowClosed signal is this viewer's to use.
    loop = QtCore.QEventLoop()

    class _CloseWatch(QtCore.QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QtCore.QEvent.Type.Close:
                stop_all()
                QtCore.QTimer.singleShot(0, loop.quit)
            return False

    watch = _CloseWatch()
    window.installEventFilter(watch)
    window.destroyed.connect(loop.quit)
    previous = signal.signal(signal.SIGINT, lambda *_: (stop_all(), loop.quit()))
    # Qt's event loop does not return to Python on its own: a no-op timer lets the
    # interpreter run the SIGINT handler while the window is open.
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(100)
    window.show()
    start_graphs(graphs, max_frames)
    try:
        if window.isVisible():
            loop.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        wake.stop()
        stop_all()
    if several:
        return None
    return graph.wait()
