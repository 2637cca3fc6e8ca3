"""The desktop GUI (PyQt6 + pyqtgraph): live video with the overlay, controls, plots and
stream health for one or several sources. Start it with ``python run_live.py``.

``window.MainWindow`` is the window; ``session.SourceSession`` runs one source's graph off
the UI thread; ``playback`` holds the Qt-free parts (pacing, pause, loop, recording)."""

from __future__ import annotations

import signal
import sys

from poselive.errors import require


def run_gui(sources: list[str], overrides: dict | None = None, record: str | None = None,
            source_options: dict | None = None, max_frames: int | None = None,
            pipeline_extra: dict | None = None, window_out: list | None = None) -> int:
    """Open the window on ``sources`` and run until it is closed; returns the exit status.

    ``overrides``: ``Settings`` fields the command line set (the rest come from the
    settings saved by the last run). ``record``: record the sources from their first frame
    to this MP4, the JSONL beside it (``{name}`` per source with several). ``max_frames``:
    stop each source after that many frames and close the window when all have ended.
    ``pipeline_extra``: ``PipelineOptions`` fields the side panel does not show (adapters,
    tracking off, adaptive interval), kept for every pipeline the window builds.
    ``window_out``, when given, receives the window (tests)."""
    require("PyQt6.QtWidgets", "gui", "the desktop GUI")
    require("pyqtgraph", "gui", "the GUI's live plots")
    from PyQt6 import QtCore, QtWidgets

    from poselive.apps.gui.window import MainWindow
    from poselive.apps.summary import summary_lines

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("poselive")
    window = MainWindow(sources, source_options=source_options, overrides=overrides, max_frames=max_frames,
                        record=record, pipeline_extra=pipeline_extra)
    if window_out is not None:
        window_out.append(window)
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    # Qt's event loop does not return to Python on its own: a no-op timer lets the
    # interpreter run the SIGINT handler while the window is open.
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    window.show()
    try:
        app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous)
    failed = []
    for s in window.sessions:
        st = s.stats()
        if st is not None:  # the same summary as `poselive process` prints for each source
            for line in summary_lines(st):
                print(f"[{s.name}] {line}", file=sys.stderr)
        else:
            print(f"[{s.name}] {s.health()}", file=sys.stderr)
        if s.health() == "error":
            failed.append(s.name)
            print(f"poselive: error: [{s.name}] {s.error}", file=sys.stderr)
        elif s.recording_paths:
            print(f"[{s.name}] wrote {s.recording_paths[0]} and {s.recording_paths[1]}", file=sys.stderr)
    return 1 if failed else 0
