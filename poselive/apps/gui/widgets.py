"""The GUI's widgets: the video view, a labelled tile, the side panel and the live plots."""

from __future__ import annotations

import collections
import glob
import sys

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from poselive.apps.gui.session import Settings

HEALTH_COLOURS = {"live": "#2e7d32", "paused": "#9e7700", "connecting": "#1565c0", "ended": "#555555",
                  "stopped": "#555555", "error": "#c62828"}


def health_colour(health: str) -> str:
    """The colour a health word is shown in (reconnecting: orange)."""
    return HEALTH_COLOURS.get(health, "#e65100")


def bgr_qimage(image: np.ndarray) -> QtGui.QImage:
    """A QImage viewing a contiguous BGR uint8 image (keep the array alive while shown)."""
    h, w = image.shape[:2]
    return QtGui.QImage(image.data, w, h, image.strides[0], QtGui.QImage.Format.Format_BGR888)


class VideoView(QtWidgets.QWidget):
    """Shows the newest image scaled to fit (aspect kept), or a message when there is none."""

    clicked = QtCore.pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._array: np.ndarray | None = None
        self._image: QtGui.QImage | None = None
        self.message = ""
        self.frames_shown = 0

    def set_frame(self, image: np.ndarray | None) -> None:
        """Show ``image`` (BGR uint8) on the next paint."""
        if image is None:
            self._array = self._image = None
        else:
            self._array = np.ascontiguousarray(image)
            self._image = bgr_qimage(self._array)
            self.frames_shown += 1
        self.update()

    def set_message(self, text: str) -> None:
        """A line drawn over the view (empty: none)."""
        if text != self.message:
            self.message = text
            self.update()

    @property
    def frame(self) -> np.ndarray | None:
        return self._array

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(20, 20, 20))
        if self._image is not None:
            iw, ih = self._image.width(), self._image.height()
            scale = min(self.width() / iw, self.height() / ih)
            w, h = int(iw * scale), int(ih * scale)
            target = QtCore.QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)
            p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
            p.drawImage(target, self._image)
        if self.message:
            font = p.font()
            font.setPointSize(max(9, min(14, self.height() // 30)))
            p.setFont(font)
            rect = self.rect().adjusted(12, 12, -12, -12)
            # Over a frame the message sits at the bottom, so the picture stays visible.
            where = QtCore.Qt.AlignmentFlag.AlignBottom if self._image is not None else QtCore.Qt.AlignmentFlag.AlignVCenter
            flags = where | QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.TextFlag.TextWordWrap
            box = p.boundingRect(rect, flags, self.message).adjusted(-10, -6, 10, 6)
            p.fillRect(box, QtGui.QColor(0, 0, 0, 170))
            p.setPen(QtGui.QColor(240, 240, 240))
            p.drawText(rect, flags, self.message)
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.clicked.emit()


class Tile(QtWidgets.QFrame):
    """One source among several: its name, its health and its video; a click selects it."""

    clicked = QtCore.pyqtSignal(object)

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setFrameShape(QtWidgets.QFrame.Shape.Box)
        self.setLineWidth(2)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(1)
        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.view = VideoView()
        self.view.setMinimumSize(120, 90)
        lay.addWidget(self.label)
        lay.addWidget(self.view, 1)
        self.view.clicked.connect(lambda: self.clicked.emit(self))
        self.set_selected(False)

    def set_health(self, health: str) -> None:
        self.label.setText(f"<b>{self.session.name}</b> &nbsp;<span style='color:{health_colour(health)}'>"
                           f"● {health}</span>")

    def set_selected(self, selected: bool) -> None:
        self.setStyleSheet("Tile { border: 2px solid %s; }" % ("#1e88e5" if selected else "#444"))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.clicked.emit(self)


def detected_cameras() -> list[str]:
    """Camera device indices this machine shows (Linux: /dev/videoN)."""
    if sys.platform.startswith("linux"):
        found = sorted(glob.glob("/dev/video[0-9]*"), key=lambda p: int(p[len("/dev/video"):]))
        return [p[len("/dev/video"):] for p in found]
    return ["0"]  # elsewhere there is no cheap listing; offer the default camera


class ControlPanel(QtWidgets.QWidget):
    """The side panel. It only emits what the user asked for; the window acts on it."""

    source_chosen = QtCore.pyqtSignal(str)
    add_source = QtCore.pyqtSignal(str)
    settings_changed = QtCore.pyqtSignal()
    model_file_wanted = QtCore.pyqtSignal(str)  # "det" or "pose"

    BACKENDS = ["auto", "onnxruntime", "torch", "tensorrt"]

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)

        src = QtWidgets.QGroupBox("Source")
        sl = QtWidgets.QVBoxLayout(src)
        self.source_box = QtWidgets.QComboBox()
        self.source_box.setEditable(True)
        self.source_box.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.source_box.lineEdit().setPlaceholderText("camera index, file or rtsp:// URL")
        self.source_box.setMinimumContentsLength(18)
        self.source_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        sl.addWidget(self.source_box)
        row = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open…")
        self.open_button.setToolTip("open a video file")
        self.url_button = QtWidgets.QPushButton("URL…")
        self.url_button.setToolTip("open an rtsp:// stream")
        self.go_button = QtWidgets.QPushButton("Play")
        self.go_button.setToolTip("show the source above in the selected view")
        self.add_button = QtWidgets.QPushButton("+ Tile")
        self.add_button.setToolTip("show the source above as another tile")
        for b in (self.open_button, self.url_button, self.go_button, self.add_button):
            row.addWidget(b)
        sl.addLayout(row)
        outer.addWidget(src)

        mdl = QtWidgets.QGroupBox("Models")
        ml = QtWidgets.QFormLayout(mdl)
        self.model_box = QtWidgets.QComboBox()
        ml.addRow("models", self.model_box)
        self.backend_box = QtWidgets.QComboBox()
        self.backend_box.addItems(self.BACKENDS)
        ml.addRow("backend", self.backend_box)
        self.threads_spin = QtWidgets.QSpinBox()
        self.threads_spin.setRange(0, 64)
        self.threads_spin.setSpecialValueText("auto")
        ml.addRow("threads/model", self.threads_spin)
        self.interval_spin = QtWidgets.QSpinBox()
        self.interval_spin.setRange(1, 30)
        ml.addRow("detect every", self.interval_spin)
        self.det_thr = self._thr_spin()
        ml.addRow("detector ≥", self.det_thr)
        self.kpt_thr = self._thr_spin()
        ml.addRow("keypoints ≥", self.kpt_thr)
        self.smooth_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 10)
        self.smooth_slider.setToolTip("One-Euro smoothing per track: 0 off, 10 strongest")
        ml.addRow("smoothing", self.smooth_slider)
        outer.addWidget(mdl)

        pb = QtWidgets.QGroupBox("Playback and overlay")
        pl = QtWidgets.QGridLayout(pb)
        self.realtime_check = QtWidgets.QCheckBox("real time")
        self.realtime_check.setToolTip("files play at their own frame rate; off: as fast as possible")
        self.loop_check = QtWidgets.QCheckBox("loop")
        self.boxes_check = QtWidgets.QCheckBox("boxes")
        self.ids_check = QtWidgets.QCheckBox("IDs")
        self.skeleton_check = QtWidgets.QCheckBox("skeleton")
        self.trails_check = QtWidgets.QCheckBox("trails")
        self.hud_check = QtWidgets.QCheckBox("HUD")
        checks = [self.realtime_check, self.loop_check, self.boxes_check, self.ids_check,
                  self.skeleton_check, self.trails_check, self.hud_check]
        for i, c in enumerate(checks):
            pl.addWidget(c, i // 2, i % 2)
        outer.addWidget(pb)

        act = QtWidgets.QGroupBox("Actions")
        al = QtWidgets.QGridLayout(act)
        self.start_button = QtWidgets.QPushButton("Stop")
        self.pause_button = QtWidgets.QPushButton("Pause  [space]")
        self.record_button = QtWidgets.QPushButton("Record  [R]")
        self.snapshot_button = QtWidgets.QPushButton("Snapshot  [S]")
        self.fullscreen_button = QtWidgets.QPushButton("Full screen  [F]")
        for i, b in enumerate((self.start_button, self.pause_button, self.record_button,
                               self.snapshot_button, self.fullscreen_button)):
            al.addWidget(b, i // 2, i % 2)
        outer.addWidget(act)
        outer.addStretch(1)

        self.go_button.clicked.connect(lambda: self.source_chosen.emit(self.source_text()))
        self.add_button.clicked.connect(lambda: self.add_source.emit(self.source_text()))
        self.source_box.activated.connect(lambda _i: self.source_chosen.emit(self.source_text()))  # also Enter in the box
        for w in (self.backend_box, self.model_box):
            w.currentIndexChanged.connect(self._changed)
        for w in (self.threads_spin, self.interval_spin, self.smooth_slider):
            w.valueChanged.connect(self._changed)
        for w in (self.det_thr, self.kpt_thr):
            w.valueChanged.connect(self._changed)
        for c in checks:
            c.toggled.connect(self._changed)
        self._loading = False
        self._custom: dict[str, str | None] = {"det": None, "pose": None}

    @staticmethod
    def _thr_spin() -> QtWidgets.QDoubleSpinBox:
        s = QtWidgets.QDoubleSpinBox()
        s.setRange(0.05, 0.95)
        s.setSingleStep(0.05)
        s.setDecimals(2)
        return s

    def _changed(self, *_a) -> None:
        if self._loading:
            return
        data = self.model_box.currentData()
        if isinstance(data, str) and data.startswith("file:"):
            self._loading = True
            self.model_box.setCurrentIndex(self._last_model_index)
            self._loading = False
            self.model_file_wanted.emit(data[5:])
            return
        self._last_model_index = self.model_box.currentIndex()
        self.settings_changed.emit()

    def source_text(self) -> str:
        """The source the combo shows: its item's data when chosen from the list, else the text."""
        text = self.source_box.currentText().strip()
        i = self.source_box.currentIndex()
        if i >= 0 and self.source_box.itemText(i) == text and self.source_box.itemData(i):
            return str(self.source_box.itemData(i))
        return text

    def fill_sources(self, cameras: list[str], extra: list[tuple[str, str]], recent: list[str]) -> None:
        """List detected cameras, named sources (label, spec) and recent ones."""
        box = self.source_box
        box.blockSignals(True)
        box.clear()
        for c in cameras:
            box.addItem(f"Camera {c}", c)
        for label, spec in extra:
            box.addItem(label, spec)
        for r in recent:
            if r not in cameras and r not in [s for _, s in extra]:
                box.addItem(r, r)
        box.setCurrentIndex(-1)
        box.blockSignals(False)

    def fill_models(self, presets: list[tuple[str, str | None, str | None, bool]]) -> None:
        """List the model presets (label, det, pose, installed), then the 'choose a file' entries."""
        self._presets = presets
        self._loading = True
        box = self.model_box
        box.clear()
        for label, det, pose, installed in presets:
            box.addItem(label, ("preset", det, pose))
            if not installed:  # shown, so users know it exists, but not selectable
                box.model().item(box.count() - 1).setEnabled(False)
        box.addItem("custom…", ("custom",))
        box.addItem("choose pose model file…", "file:pose")
        box.addItem("choose detector file…", "file:det")
        self._last_model_index = 0
        self._loading = False

    def models(self) -> tuple[str | None, str | None]:
        data = self.model_box.currentData()
        if isinstance(data, tuple) and data[0] == "preset":
            return data[1], data[2]
        return self._custom["det"], self._custom["pose"]

    def set_models(self, det: str | None, pose: str | None) -> None:
        """Select the preset with these files, else 'custom…' remembering them."""
        self._loading = True
        for i in range(self.model_box.count()):
            d = self.model_box.itemData(i)
            if isinstance(d, tuple) and d[0] == "preset" and (d[1], d[2]) == (det, pose):
                self.model_box.setCurrentIndex(i)
                break
        else:
            self._custom = {"det": det, "pose": pose}
            for i in range(self.model_box.count()):
                if self.model_box.itemData(i) == ("custom",):
                    self.model_box.setCurrentIndex(i)
                    names = [n.rsplit("/", 1)[-1] for n in (det, pose) if n]
                    self.model_box.setItemText(i, "custom: " + " + ".join(names))
        self._last_model_index = self.model_box.currentIndex()
        self._loading = False

    def settings(self) -> Settings:
        """The settings the panel shows."""
        det, pose = self.models()
        return Settings(det=det, pose=pose, backend=self.backend_box.currentText(),
                        threads=self.threads_spin.value() or None, det_interval=self.interval_spin.value(),
                        det_threshold=round(self.det_thr.value(), 3), smoothing=self.smooth_slider.value(),
                        realtime=self.realtime_check.isChecked(), kpt_threshold=round(self.kpt_thr.value(), 3),
                        loop=self.loop_check.isChecked(), boxes=self.boxes_check.isChecked(),
                        ids=self.ids_check.isChecked(), skeleton=self.skeleton_check.isChecked(),
                        trails=self.trails_check.isChecked(), hud=self.hud_check.isChecked())

    def load(self, s: Settings) -> None:
        """Show ``s`` without emitting changes."""
        self._loading = True
        try:
            self.set_models(s.det, s.pose)
            self._loading = True
            self.backend_box.setCurrentText(s.backend)
            self.threads_spin.setValue(s.threads or 0)
            self.interval_spin.setValue(s.det_interval)
            self.det_thr.setValue(s.det_threshold)
            self.kpt_thr.setValue(s.kpt_threshold)
            self.smooth_slider.setValue(s.smoothing)
            for name in ("realtime", "loop", "boxes", "ids", "skeleton", "trails", "hud"):
                getattr(self, f"{name}_check").setChecked(getattr(s, name))
        finally:
            self._loading = False


class Plots(QtWidgets.QWidget):
    """FPS, per-stage latency (p50 per second), end-to-end latency and persons in view over
    the last minute, one point per second (pyqtgraph)."""

    SECONDS = 60
    STAGE_COLOURS = ["#42a5f5", "#ef5350", "#66bb6a", "#ffa726", "#ab47bc", "#26c6da"]

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=False, background="#1e1e1e", foreground="#cccccc")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.widget = pg.GraphicsLayoutWidget()
        lay.addWidget(self.widget)
        self.plots = {}
        for key, title in (("fps", "FPS"), ("stages", "stage latency p50 (ms)"),
                           ("e2e", "end-to-end latency p50 (ms)"), ("persons", "persons in view")):
            p = self.widget.addPlot(title=title)
            p.setXRange(-self.SECONDS, 0, padding=0)
            p.setMouseEnabled(x=False, y=False)
            p.hideButtons()
            p.showGrid(y=True, alpha=0.2)
            p.getAxis("left").setWidth(32)
            self.plots[key] = p
        self.plots["stages"].addLegend(offset=(2, 2), labelTextSize="7pt", brush=(30, 30, 30, 200))
        self.curves: dict[str, object] = {}
        self.points = 0  # points plotted since the start (tests read it)

    def _curve(self, key: str, name: str, colour: str):
        import pyqtgraph as pg

        ck = f"{key}:{name}"
        if ck not in self.curves:
            self.curves[ck] = self.plots[key].plot(pen=pg.mkPen(colour, width=2), name=name if key == "stages" else None)
        return self.curves[ck]

    def show_history(self, history: "History") -> None:
        """Redraw every curve from ``history``."""
        t = np.asarray(history.t, float)
        x = t - t[-1] if len(t) else t
        self._curve("fps", "fps", "#42a5f5").setData(x, np.asarray(history.fps, float))
        self._curve("e2e", "e2e", "#ffa726").setData(x, np.asarray(history.e2e, float))
        self._curve("persons", "persons", "#66bb6a").setData(x, np.asarray(history.persons, float))
        for i, (name, vals) in enumerate(history.stages.items()):
            n = len(vals)
            self._curve("stages", name, self.STAGE_COLOURS[i % len(self.STAGE_COLOURS)]).setData(
                x[len(x) - n:], np.asarray(vals, float))
        for ck, c in self.curves.items():
            if ck.startswith("stages:") and ck[7:] not in history.stages:
                c.setData([], [])
        for key, vals in (("fps", history.fps), ("e2e", history.e2e), ("persons", history.persons)):
            a = np.asarray(vals, float)
            top = float(np.nanmax(a)) if np.isfinite(a).any() else 1.0
            self.plots[key].setYRange(0, max(1.0, top * 1.15), padding=0)
        self.points = history.count


class History:
    """The last minute of per-second points for one source."""

    def __init__(self, seconds: int = Plots.SECONDS) -> None:
        self.seconds = seconds
        self.t: collections.deque = collections.deque(maxlen=seconds)
        self.fps: collections.deque = collections.deque(maxlen=seconds)
        self.e2e: collections.deque = collections.deque(maxlen=seconds)
        self.persons: collections.deque = collections.deque(maxlen=seconds)
        self.stages: dict[str, collections.deque] = {}
        self.count = 0

    def add(self, t: float, second) -> None:
        """Append one second's aggregates (``session.Second``)."""
        nan = float("nan")
        self.t.append(t)
        self.fps.append(float(second.frames))
        self.e2e.append(float(np.median(second.e2e_ms)) if second.e2e_ms else nan)
        self.persons.append(float(np.mean(second.persons)) if second.persons else nan)
        for name in set(self.stages) | set(second.stage_ms):
            vals = self.stages.setdefault(name, collections.deque(maxlen=self.seconds))
            ms = second.stage_ms.get(name)
            vals.append(float(np.median(ms)) if ms else nan)
        self.count += 1
