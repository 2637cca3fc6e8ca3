"""The main window: the large view, tiles for several sources, the side panel, the plots
and the status bar. It reads results and statistics from its sessions and never waits
for inference: every slot here returns in a few milliseconds."""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import fields, replace
from pathlib import Path

from PyQt6 import QtCore, QtGui, QtWidgets

from poselive.apps.gui.session import ModelCache, Settings, SourceSession
from poselive.apps.gui.widgets import (ControlPanel, History, Plots, Tile, VideoView, detected_cameras,
                                       health_colour)
from poselive.errors import PoseliveError

log = logging.getLogger("poselive.gui")

MAX_RECENT = 8


def model_presets() -> list[tuple[str, str | None, str | None, bool]]:
    """(label, detector, pose, installed) for the pose models poselive ships by alias
    (``poselive.assets.ALIASES``); None means the default file."""
    from poselive import assets

    presets: list[tuple[str, str | None, str | None, bool]] = []
    for alias, name in assets.ALIASES.items():
        try:
            assets.model_path(alias)
            installed = True
        except PoseliveError:  # listed, so users know of it, but not selectable
            installed = False
        label = f"{alias} ({name})" + ("" if installed else " — not installed")
        default = alias == assets.DEFAULTS.get("pose")
        presets.append((label, None, None if default else alias, installed))
    return presets


def sample_clip() -> str | None:
    """The sample clip poselive ships, if installed."""
    from poselive import assets

    try:
        return str(assets.sample_path())
    except PoseliveError:
        return None


class MainWindow(QtWidgets.QMainWindow):
    """poselive's desktop window for one or several sources."""

    def __init__(self, sources: list[str] | None = None, settings: Settings | None = None,
                 settings_file: str | None = None, output_dir: str | None = None,
                 source_options: dict | None = None, overrides: dict | None = None,
                 max_frames: int | None = None, record: str | None = None,
                 models: ModelCache | None = None, pipeline_extra: dict | None = None) -> None:
        super().__init__()
        self.pipeline_extra = dict(pipeline_extra or {})
        self.max_frames = max_frames
        self.record_template = record
        self.setWindowTitle("poselive")
        settings_file = settings_file or os.environ.get("POSELIVE_GUI_SETTINGS")
        if settings_file:
            self.qsettings = QtCore.QSettings(settings_file, QtCore.QSettings.Format.IniFormat)
        else:
            self.qsettings = QtCore.QSettings("poselive", "poselive-gui")
        self.defaults = replace(settings or self._load_settings(), **(overrides or {}))
        self.output_dir = Path(output_dir or self.qsettings.value("output_dir", str(Path.cwd() / "poselive-output")))
        self.source_options = dict(source_options or {})
        self.models = models or ModelCache()
        self.sessions: list[SourceSession] = []
        self.retiring: list[SourceSession] = []
        self.tiles: dict[SourceSession, Tile] = {}
        self.selected: SourceSession | None = None
        self.recording: SourceSession | None = None
        self.ui_ms_total = 0.0
        self.ui_frames = 0
        self.close_time_s: float | None = None
        self._closing = False

        # -- layout ----------------------------------------------------------------------
        self.view = VideoView()
        self.tile_area = QtWidgets.QWidget()
        self.tile_grid = QtWidgets.QGridLayout(self.tile_area)
        self.tile_grid.setContentsMargins(0, 0, 0, 0)
        self.tile_grid.setSpacing(4)
        self.tile_area.hide()
        self.plots = Plots()
        self.plots.setMinimumHeight(130)
        centre = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        top = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.view, 3)
        tl.addWidget(self.tile_area, 1)
        centre.addWidget(top)
        centre.addWidget(self.plots)
        centre.setStretchFactor(0, 4)
        centre.setStretchFactor(1, 1)
        centre.setSizes([560, 170])
        self.setCentralWidget(centre)

        self.panel = ControlPanel()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        dock = QtWidgets.QDockWidget("Controls")
        dock.setObjectName("controls")
        dock.setWidget(scroll)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.dock = dock

        sb = self.statusBar()
        self.health_label = QtWidgets.QLabel()
        self.drops_label = QtWidgets.QLabel()
        self.engine_label = QtWidgets.QLabel()
        self.models_label = QtWidgets.QLabel()
        self.fps_label = QtWidgets.QLabel()
        sb.addWidget(self.health_label, 1)
        for w in (self.fps_label, self.drops_label, self.engine_label, self.models_label):
            sb.addPermanentWidget(w)

        # -- panel wiring --------------------------------------------------------------------
        p = self.panel
        p.fill_models(model_presets())
        self._refresh_sources()
        p.load(self.defaults)
        p.source_chosen.connect(self.open_source)
        p.add_source.connect(self.add_source)
        p.open_button.clicked.connect(self._pick_file)
        p.url_button.clicked.connect(self._pick_url)
        p.model_file_wanted.connect(self._pick_model)
        p.start_button.clicked.connect(self.toggle_running)
        p.pause_button.clicked.connect(self.toggle_pause)
        p.record_button.clicked.connect(self.toggle_record)
        p.snapshot_button.clicked.connect(self.snapshot)
        p.fullscreen_button.clicked.connect(self.toggle_fullscreen)
        self._apply_timer = QtCore.QTimer(self, singleShot=True, interval=300)
        self._apply_timer.timeout.connect(self._apply_settings)
        p.settings_changed.connect(self._apply_timer.start)
        for key, fn in (("Space", self.toggle_pause), ("R", self.toggle_record), ("S", self.snapshot),
                        ("F", self.toggle_fullscreen), ("Esc", self._leave_fullscreen)):
            QtGui.QShortcut(QtGui.QKeySequence(key), self, activated=fn)

        self._health_timer = QtCore.QTimer(self, interval=250)
        self._health_timer.timeout.connect(self._update_health)
        self._health_timer.start()
        self._plot_timer = QtCore.QTimer(self, interval=1000)
        self._plot_timer.timeout.connect(self._update_plots)
        self._plot_timer.start()
        self._shown_times: list[float] = []

        geometry = self.qsettings.value("geometry")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        self._started_cli_sources = False
        self._several_cli_sources = len(sources or []) > 1
        for spec in sources or []:
            s = self.add_source(spec)
            if s is not None and s.record_to:
                self.recording = self.recording or s
        self._started_cli_sources = True
        if self.sessions:
            self.select(self.sessions[0])
        if max_frames is not None:
            # A run of N frames (scripts, tests): close once every source has ended.
            self._done_timer = QtCore.QTimer(self, interval=100)
            self._done_timer.timeout.connect(self._close_when_done)
            self._done_timer.start()
        if not sources:
            self.view.set_message("Pick a source in the side panel: a camera, a video file or an rtsp:// URL.")

    # -- settings persistence ----------------------------------------------------------------
    def _load_settings(self) -> Settings:
        s = Settings()
        q = self.qsettings
        out = {}
        for f in fields(Settings):
            key = f"settings/{f.name}"
            if not q.contains(key):
                continue
            default = getattr(s, f.name)
            raw = q.value(key)
            try:
                if isinstance(default, bool):
                    out[f.name] = str(raw).lower() in ("true", "1")
                elif isinstance(default, int) and not isinstance(default, bool):
                    out[f.name] = int(raw)
                elif isinstance(default, float):
                    out[f.name] = float(raw)
                elif f.name == "threads":
                    out[f.name] = int(raw) or None
                else:
                    out[f.name] = str(raw) or None
            except (TypeError, ValueError):
                continue
        return replace(s, **out)

    def _save_settings(self) -> None:
        q = self.qsettings
        s = self.panel.settings()
        for f in fields(Settings):
            v = getattr(s, f.name)
            q.setValue(f"settings/{f.name}", "" if v is None else v)
        q.setValue("geometry", self.saveGeometry())
        q.setValue("output_dir", str(self.output_dir))
        q.sync()

    def recent_sources(self) -> list[str]:
        raw = self.qsettings.value("recent", [])
        if isinstance(raw, str):
            raw = [raw]
        return [str(r) for r in (raw or []) if str(r)]

    def _remember(self, spec: str) -> None:
        recent = [spec] + [r for r in self.recent_sources() if r != spec]
        self.qsettings.setValue("recent", recent[:MAX_RECENT])
        self._refresh_sources()

    def _refresh_sources(self) -> None:
        extra = []
        clip = sample_clip()
        if clip:
            extra.append(("Sample clip (sample.mp4)", clip))
        self.panel.fill_sources(detected_cameras(), extra, self.recent_sources())

    # -- sources -------------------------------------------------------------------------------
    def _new_session(self, spec: str, settings: Settings, start_at: int = 0, name: str | None = None) -> SourceSession:
        from poselive.apps.pipeline import source_names

        spec = spec.strip()
        from poselive.assets import resolve_source

        spec = str(resolve_source(spec))  # 'sample' names the shipped clip
        if name is None:
            taken = [s.name for s in self.sessions]
            name = source_names(taken + [spec])[-1]
        opts = dict(self.source_options) if spec.lower().startswith(("rtsp://", "rtsps://")) else {}
        record_to = None
        if self.record_template and not self._started_cli_sources:
            from poselive.apps.pipeline import output_for

            record_to = output_for(self.record_template, name, self._several_cli_sources, "--out")
        session = SourceSession(spec, name, settings, self.models, source_options=opts, start_at=start_at,
                                max_frames=None if self._started_cli_sources else self.max_frames,
                                record_to=record_to, extra=self.pipeline_extra)
        session.history = History()
        session.frame_ready.connect(lambda s=session: self._on_frame(s))
        session.changed.connect(self._update_health)
        session.start()
        return session

    def add_source(self, spec: str) -> SourceSession | None:
        """Show ``spec`` (camera index, file or URL) as another tile and select it."""
        if not spec.strip():
            return None
        settings = self.panel.settings() if self.sessions else self.defaults
        session = self._new_session(spec, settings)
        self.sessions.append(session)
        tile = Tile(session)
        tile.clicked.connect(lambda t: self.select(t.session))
        self.tiles[session] = tile
        self._layout_tiles()
        self.select(session)
        self._remember(spec.strip())
        return session

    def open_source(self, spec: str) -> SourceSession | None:
        """Replace the selected source with ``spec`` (or add it when there is none)."""
        if not spec.strip():
            return None
        if self.selected is None:
            return self.add_source(spec)
        old = self.selected
        new = self._replace(old, spec, self.panel.settings())
        self._remember(spec.strip())
        return new

    def _replace(self, old: SourceSession, spec: str, settings: Settings, start_at: int = 0,
                 name: str | None = None) -> SourceSession:
        if self.recording is old:
            self.toggle_record()
        old.stop()
        self.retiring.append(old)
        i = self.sessions.index(old)
        self.sessions.remove(old)
        new = self._new_session(spec, settings, start_at, name)
        self.sessions.insert(i, new)
        tile = self.tiles.pop(old)
        tile.session = new
        self.tiles[new] = tile
        if self.selected is old:
            self.selected = None
            self.select(new)
        self._layout_tiles()
        return new

    def _layout_tiles(self) -> None:
        for t in self.tiles.values():
            self.tile_grid.removeWidget(t)
        several = len(self.sessions) > 1
        self.tile_area.setVisible(several)
        cols = max(1, math.ceil(math.sqrt(len(self.sessions)))) if len(self.sessions) > 4 else len(self.sessions)
        for i, s in enumerate(self.sessions):
            t = self.tiles[s]
            self.tile_grid.addWidget(t, i // cols, i % cols)
            t.setVisible(several)

    def select(self, session: SourceSession) -> None:
        """Make ``session`` the large view; the side panel now acts on it."""
        if session is self.selected:
            return
        self.selected = session
        for s, t in self.tiles.items():
            t.set_selected(s is session)
        self.panel.load(session.settings)
        self.view.set_frame(getattr(session, "shown", None))
        self.plots.show_history(session.history)
        self.setWindowTitle(f"poselive — {session.spec}")
        self._update_health()

    # -- frames (worker → UI) ---------------------------------------------------------------------
    def _on_frame(self, session: SourceSession) -> None:
        packet = session.take_latest()
        if packet is None or self._closing or session not in self.tiles:
            return  # a session being replaced: its last frames are not shown
        t0 = time.perf_counter()
        s = session.settings
        image = packet.image
        if session.renderer is not None and (s.boxes or s.ids or s.skeleton or s.trails or s.hud):
            # The overlay is drawn here, from the results bound to this very frame.
            image = session.renderer(replace(packet, meta=dict(packet.meta))).rendered
        session.shown = image
        session.shown_index = packet.index
        if session is self.selected:
            self.view.set_frame(image)
            self._shown_times.append(t0)
        tile = self.tiles.get(session)
        if tile is not None and tile.isVisible():
            tile.view.set_frame(image)
        self.ui_ms_total += (time.perf_counter() - t0) * 1000.0
        self.ui_frames += 1

    def shown_fps(self) -> float:
        """Frames of the large view shown over the last two seconds, per second."""
        now = time.perf_counter()
        self._shown_times = [t for t in self._shown_times if now - t <= 2.0]
        return len(self._shown_times) / 2.0

    # -- status ----------------------------------------------------------------------------------
    def _update_health(self) -> None:
        if self._closing:
            return
        for s, tile in self.tiles.items():
            h = s.health()
            tile.set_health(h)
            if s is self.selected:
                self._show_status(s, h)
        for s in list(self.retiring):
            if s.wait(0):
                self.retiring.remove(s)

    def _show_status(self, s: SourceSession, h: str) -> None:
        colour = health_colour(h)
        text = f"<span style='color:{colour}'>●</span> <b>{s.name}</b>: {h}"
        message = ""
        if h == "error":
            err = s.error or ""
            text += f" — {err[:140]}{'…' if len(err) > 140 else ''}"
            self.health_label.setToolTip(err)
            message = f"{err}\n\nPick another source or model in the side panel."
        elif h == "connecting":
            message = f"opening {s.spec} …"
        elif h == "ended":
            message = "The stream ended. Press Play to watch it again, or tick 'loop'."
        elif h == "stopped":
            message = "Stopped. Press Start or pick a source."
        elif h.startswith("reconnecting"):
            message = f"connection lost; {h}"
        if self.recording is s:
            text += f" — <span style='color:#c62828'>● REC {s.recorded_frames} frames</span>"
        self.health_label.setText(text)
        self.view.set_message(message)
        st = s.stats()
        self.drops_label.setText(f"dropped {st.drops}" if st is not None else "")
        self.engine_label.setText(s.engine_info)
        self.models_label.setText(s.model_names)
        self.fps_label.setText(f"{self.shown_fps():.1f} fps shown")
        running = st is not None and st.running
        self.panel.start_button.setText("Stop" if running or h == "connecting" else "Start")
        self.panel.pause_button.setText(("Resume" if h == "paused" else "Pause") + "  [space]")
        self.panel.record_button.setText(("Stop recording" if self.recording is s else "Record") + "  [R]")

    def _update_plots(self) -> None:
        now = time.perf_counter()
        for s in self.sessions:
            if s.pipeline is not None and (s.pipeline.graph.is_running() or s.history.count == 0):
                s.history.add(now, s.take_second())
        if self.selected is not None:
            self.plots.show_history(self.selected.history)

    # -- controls ---------------------------------------------------------------------------------
    def _apply_settings(self) -> None:
        s = self.panel.settings()
        sel = self.selected
        if sel is None:
            self.defaults = s
            return
        if s.needs_rebuild(sel.settings) or sel.health() in ("error",):
            # Models, thresholds and pacing live in the pipeline: build a new one, resuming
            # a file where it was.
            self._replace(sel, sel.spec, s, start_at=max(0, sel.position + 1), name=sel.name)
        else:
            sel.apply_live(s)

    def toggle_running(self) -> None:
        """Stop the selected source, or start it again from the beginning."""
        s = self.selected
        if s is None:
            self.open_source(self.panel.source_text())
            return
        if s.health() in ("live", "paused", "connecting") or s.health().startswith("reconnecting"):
            if self.recording is s:
                self.toggle_record()
            s.stop()
        else:
            self._replace(s, s.spec, self.panel.settings(), name=s.name)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the selected source."""
        if self.selected is not None:
            self.selected.set_paused(paused)
            self._update_health()

    def toggle_pause(self) -> None:
        s = self.selected
        if s is not None and s.source is not None:
            self.set_paused(not s.source.paused)

    def toggle_record(self) -> Path | None:
        """Start recording the selected source (MP4 + JSONL in the output folder), or stop."""
        if self.recording is not None:
            rec = self.recording
            self.recording = None
            frames = rec.stop_recording()
            mp4 = rec.recording_paths[0] if rec.recording_paths else None
            self.statusBar().showMessage(f"recorded {frames} frames to {mp4} (+ .jsonl)", 8000)
            log.info("recorded %d frames to %s", frames, mp4)
            self._update_health()
            return mp4
        s = self.selected
        if s is None:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.output_dir / f"{s.name}-{stamp}.mp4"
        try:
            mp4, _ = s.start_recording(path)
        except PoseliveError as exc:
            self.statusBar().showMessage(f"cannot record: {exc}", 8000)
            log.error("cannot record: %s", exc)
            return None
        self.recording = s
        self.statusBar().showMessage(f"recording to {mp4}", 4000)
        self._update_health()
        return mp4

    def snapshot(self) -> Path | None:
        """Save the frame on screen, with its overlay, as a PNG in the output folder."""
        import cv2

        s = self.selected
        image = getattr(s, "shown", None) if s is not None else None
        if image is None:
            self.statusBar().showMessage("no frame to save yet", 4000)
            return None
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / f"{s.name}-{time.strftime('%Y%m%d-%H%M%S')}-{s.shown_index:06d}.png"
        if not cv2.imwrite(str(path), image):
            self.statusBar().showMessage(f"could not write {path}", 6000)
            return None
        self.statusBar().showMessage(f"saved {path}", 6000)
        return path

    def toggle_fullscreen(self) -> None:
        """Full screen shows the video alone; again (or Esc) brings the panels back."""
        if self.isFullScreen():
            self._leave_fullscreen()
        else:
            self.dock.hide()
            self.plots.hide()
            self.showFullScreen()

    def _leave_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
            self.dock.show()
            self.plots.show()

    def _pick_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a video", str(Path.home()), "Videos (*.mp4 *.avi *.mkv *.mov *.webm);;All files (*)")
        if path:
            self.open_source(path)

    def _pick_url(self) -> None:
        url, ok = QtWidgets.QInputDialog.getText(self, "Open a stream", "rtsp:// URL", text="rtsp://")
        if ok and url.strip() and url.strip() != "rtsp://":
            self.open_source(url.strip())

    def _pick_model(self, kind: str) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Choose a {'detector' if kind == 'det' else 'pose'} model", str(Path.home()),
            "Models (*.onnx *.pt *.pth *.engine *.plan);;All files (*)")
        if path:
            self.set_models(**{kind: path})

    def set_models(self, det: str | None = ..., pose: str | None = ...) -> None:  # type: ignore[assignment]
        """Use these model files (None: the shipped default; omitted: keep) for the selected source."""
        cur_det, cur_pose = self.panel.models()
        self.panel.set_models(cur_det if det is ... else det, cur_pose if pose is ... else pose)
        self._apply_settings()

    def _close_when_done(self) -> None:
        if self.sessions and all(s.health() in ("ended", "stopped", "error") for s in self.sessions):
            self._done_timer.stop()
            self.close()

    # -- closing -----------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802
        """Stop every graph (2 s at most), finish a recording, remember the settings."""
        t0 = time.perf_counter()
        self._closing = True
        self._health_timer.stop()
        self._plot_timer.stop()
        self._apply_timer.stop()
        self.recording = None
        for s in self.sessions:
            s.stop_recording()
        everything = self.sessions + self.retiring
        for s in everything:
            s.stop()
        deadline = t0 + 2.0
        for s in everything:
            s.wait(max(0.0, deadline - time.perf_counter()))
        self._save_settings()
        self.close_time_s = time.perf_counter() - t0
        log.info("closed in %.2f s", self.close_time_s)
        event.accept()
