"""One source in the GUI: its pipeline, built and run off the UI thread, and the results it
hands to the UI thread through Qt signals."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PyQt6 import QtCore

from poselive.apps.gui.playback import PlaybackSource, RecorderStage
from poselive.errors import PoseliveError
from poselive.interrupts import reraise_interrupt
from poselive.stages.render import Renderer

log = logging.getLogger("poselive.gui")

TRAIL_LENGTH = 30  # positions kept per track; the trails toggle only decides drawing


@dataclass
class Settings:
    """What the side panel sets. Fields above ``kpt_threshold`` need a rebuilt pipeline;
    the rest apply at once."""

    det: str | None = None  # None: the shipped model
    pose: str | None = None
    backend: str = "auto"
    threads: int | None = None
    det_interval: int = 1
    det_threshold: float = 0.3
    smoothing: int = 0  # 0 off, 1 (light) .. 10 (strong)
    realtime: bool = True
    # applied live
    kpt_threshold: float = 0.3
    loop: bool = False
    boxes: bool = True
    ids: bool = True
    skeleton: bool = True
    trails: bool = False
    hud: bool = True

    REBUILD = ("det", "pose", "backend", "threads", "det_interval", "det_threshold", "smoothing", "realtime")

    def needs_rebuild(self, other: "Settings") -> bool:
        """True when going from ``other`` to these settings needs a new pipeline."""
        return any(getattr(self, k) != getattr(other, k) for k in self.REBUILD)


def smoothing_options(strength: int) -> dict | None:
    """One-Euro parameters for a smoothing strength 0..10 (0: off); a lower min cutoff
    smooths more."""
    if strength <= 0:
        return None
    return {"min_cutoff": round(4.0 / strength, 3)}


def make_renderer(keypoint_set: Any, settings: Settings, stats_provider=None) -> Renderer:
    """The renderer that draws the overlay the way ``settings`` asks."""
    r = Renderer(keypoint_set, stats_provider=stats_provider)
    apply_overlay(r, settings)
    return r


def apply_overlay(renderer: Renderer, s: Settings) -> None:
    """Set the overlay toggles of ``renderer`` from ``s``."""
    renderer.kpt_threshold = float(s.kpt_threshold)
    renderer.draw_boxes, renderer.draw_ids, renderer.hud = s.boxes, s.ids, s.hud
    renderer.draw_skeleton, renderer.draw_trails = s.skeleton, s.trails


@dataclass
class Second:
    """What came out of a graph during one second, for the plots."""

    frames: int = 0
    e2e_ms: list = field(default_factory=list)
    stage_ms: dict = field(default_factory=dict)
    persons: list = field(default_factory=list)


class ModelCache:
    """Opened models by (det, pose, backend, threads): a rebuild that keeps the models,
    and several sources, reuse one pair of engines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple, Any] = {}

    def get(self, opts: Any) -> Any:
        from poselive.apps.pipeline import open_models

        key = (opts.det, opts.pose, opts.backend, opts.threads)
        with self._lock:
            if key not in self._models:
                self._models[key] = open_models(opts, shared=True)
            return self._models[key]


class SourceSession(QtCore.QObject):
    """Runs one source's graph. Building it (models, source, stages) happens in a worker
    thread so a slow camera or a dead URL never blocks the window; results reach the UI
    thread through ``frame_ready`` (at most one pending: a slow UI sees the newest frame,
    never a backlog) and ``changed`` (health or error)."""

    frame_ready = QtCore.pyqtSignal()
    changed = QtCore.pyqtSignal()

    def __init__(self, spec: str | int, name: str, settings: Settings, models: ModelCache,
                 source_options: dict | None = None, start_at: int = 0, max_frames: int | None = None,
                 record_to: str | None = None, extra: dict | None = None, parent=None) -> None:
        super().__init__(parent)
        self.extra = dict(extra or {})  # PipelineOptions fields the panel does not show (CLI flags)
        self.max_frames = max_frames
        self.record_to = record_to
        self.spec, self.name = spec, name
        self.settings = replace(settings)
        self.source_options = dict(source_options or {})
        self._models = models
        self._start_at = start_at
        self.pipeline: Any = None
        self.source: PlaybackSource | None = None
        self.recorder: RecorderStage | None = None
        self.renderer: Renderer | None = None
        self.error: str | None = None
        self.state = "connecting"
        self.model_names = ""
        self.engine_info = ""
        self._cancel = False
        self._lock = threading.Lock()
        self._latest = None
        self._pending = False
        self._second = Second()
        self._opener: threading.Thread | None = None
        self._hud_cache: tuple[float, dict] | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open and start the graph in a worker thread."""
        self._opener = threading.Thread(target=self._open, name=f"gui:open:{self.name}", daemon=True)
        self._opener.start()

    def _open(self) -> None:
        from poselive.apps.pipeline import PipelineOptions, build_pipeline

        s = self.settings
        opts = PipelineOptions(source=self.spec, det=s.det, pose=s.pose, backend=s.backend, threads=s.threads,
                               det_threshold=s.det_threshold, kpt_threshold=s.kpt_threshold,
                               det_interval=max(1, int(s.det_interval)),
                               smoothing=smoothing_options(s.smoothing), trails=TRAIL_LENGTH,
                               source_options=self.source_options, on_result=self._on_result)
        for key, value in self.extra.items():
            if key == "smoothing_beta":
                if opts.smoothing is not None:
                    opts.smoothing["beta"] = value
            else:
                setattr(opts, key, value)
        source = None
        started = False
        try:
            models = self._models.get(opts)  # a bad model file fails before a source is opened
            source = PlaybackSource(self.spec, self.source_options, realtime=s.realtime, loop=s.loop,
                                    start_at=self._start_at)
            if self._cancel:
                return
            # A file played in real time behaves like a live source: when the models are
            # slower than the clip, frames are dropped, not queued up behind them.
            opts.policy = "latest" if (source.is_live or s.realtime) else "lossless"
            opts.queue_size = 2 if opts.policy == "latest" else 4
            self.recorder = RecorderStage(None)  # its renderer comes with the keypoint set
            pipe = build_pipeline(opts, models, source=source, extra_stages=(self.recorder,))
            self.recorder.renderer = make_renderer(pipe.keypoint_set, s, self._hud_stats)
            self.recorder.header = pipe.header
            self.renderer = make_renderer(pipe.keypoint_set, s, self._hud_stats)
            self.model_names = f"{Path(models.det_path).stem} + {Path(models.pose_path).stem}"
            eng = models.pose_engine
            backend = getattr(eng, "backend", None) or getattr(getattr(eng, "engine", None), "backend", "?")
            threads = opts.threads or _default_threads()
            self.engine_info = f"{backend}, {threads} thread{'s' if threads != 1 else ''}/model"
            if self.record_to:
                self.recorder.start(self.record_to, source.fps, source.size)
            with self._lock:
                if self._cancel:
                    return
                pipe.graph.start(self.max_frames)
                started = True
                self.source, self.pipeline = source, pipe
            self.state = "live"
            log.info("[%s] started: %s", self.name, self.model_names)
        except PoseliveError as exc:
            self._set_error(str(exc))
        except Exception as exc:  # noqa: BLE001 - anything unexpected is shown, not raised
            reraise_interrupt(exc)
            log.exception("[%s] could not start", self.name)
            self._set_error(f"{type(exc).__name__}: {exc}")
        finally:
            if not started:
                if source is not None:
                    source.close()
                if self.recorder is not None:
                    self.recorder.stop()
                if self._cancel and self.error is None:
                    self.state = "stopped"
            self.changed.emit()

    def _set_error(self, message: str) -> None:
        self.error, self.state = message, "error"
        log.error("[%s] %s", self.name, message)

    def stop(self) -> None:
        """Ask the graph to stop (returns at once)."""
        with self._lock:
            self._cancel = True
            pipe = self.pipeline
        if pipe is not None:
            pipe.graph.stop()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the worker and the graph; True when all ended."""
        deadline = time.perf_counter() + timeout
        if self._opener is not None:
            self._opener.join(max(0.0, deadline - time.perf_counter()))
        pipe = self.pipeline
        if pipe is not None:
            try:
                pipe.graph.wait(max(0.0, deadline - time.perf_counter()))
            except PoseliveError:
                pass  # already reported through health()
            return not pipe.graph.is_running() and not self._opener.is_alive()
        return self._opener is None or not self._opener.is_alive()

    @property
    def position(self) -> int:
        """The file frame index the source reached (resume point of a rebuild)."""
        return self.source.position if self.source is not None else self._start_at - 1

    # -- results (worker → UI) -------------------------------------------------------------
    def _on_result(self, packet) -> None:
        now = time.perf_counter()
        with self._lock:
            sec = self._second
            sec.frames += 1
            sec.e2e_ms.append((now - packet.capture_time) * 1000.0)
            for k, v in packet.timings.items():
                if k != "record":
                    sec.stage_ms.setdefault(k, []).append(v * 1000.0)
            sec.persons.append(len(packet.poses) if packet.poses is not None else 0)
            self._latest = packet
            if self._pending:
                return
            self._pending = True
        self.frame_ready.emit()

    def take_latest(self):
        """The newest result packet (frame with its poses), or None; re-arms the signal."""
        with self._lock:
            self._pending = False
            return self._latest

    def take_second(self) -> Second:
        """What arrived since the last call (the plots call this once a second)."""
        with self._lock:
            sec, self._second = self._second, Second()
        return sec

    def stats(self):
        """The graph's statistics, or None before it started."""
        return self.pipeline.graph.stats() if self.pipeline is not None else None

    def _hud_stats(self) -> dict:
        # The HUD is drawn on every frame; statistics four times a second are enough.
        now = time.perf_counter()
        cached = self._hud_cache
        if cached is not None and now - cached[0] < 0.25:
            return cached[1]
        st = self.stats()
        from poselive.apps.pipeline import hud_stats  # the same HUD as poselive process

        hud = {} if st is None else hud_stats(st, live=bool(getattr(self.pipeline.source, "is_live", True)))
        self._hud_cache = (now, hud)
        return hud

    def health(self) -> str:
        """connecting, live, paused, reconnecting N×, ended, stopped or error (updates ``state``)."""
        if self.error is not None:
            return "error"
        pipe = self.pipeline
        if pipe is None:
            return self.state
        g = pipe.graph
        if not g.is_running():
            if self.state not in ("ended", "error", "stopped"):
                try:
                    g.wait(0)
                    self.state = "stopped" if self._cancel else "ended"
                except PoseliveError as exc:
                    self._set_error(str(exc))
            return self.state
        st = self.source.status() if self.source is not None else {}
        if st.get("paused"):
            return "paused"
        if st.get("state") == "reconnecting":
            return f"reconnecting {int(st.get('reconnects', 0)) + 1}×"
        return "live"

    # -- control -----------------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        if self.source is not None:
            self.source.set_paused(paused)

    def apply_live(self, s: Settings) -> None:
        """Apply the settings that need no rebuild (overlay toggles, loop)."""
        self.settings = replace(self.settings, **{k: getattr(s, k) for k in (
            "kpt_threshold", "loop", "boxes", "ids", "skeleton", "trails", "hud")})
        for r in (self.renderer, self.recorder.renderer if self.recorder else None):
            if r is not None:
                apply_overlay(r, s)
        if self.source is not None:
            self.source.set_loop(s.loop)

    def start_recording(self, mp4: str | Path) -> tuple[Path, Path]:
        """Record the annotated stream to ``mp4`` and its JSONL; raises PoseliveError."""
        if self.recorder is None or self.pipeline is None or not self.pipeline.graph.is_running():
            raise PoseliveError("nothing is running to record; start a source first")
        src = self.pipeline.source
        return self.recorder.start(mp4, src.fps, src.size)

    @property
    def recorded_frames(self) -> int:
        """Frames written to the current (or last) recording."""
        return self.recorder.frames if self.recorder is not None else 0

    @property
    def recording_paths(self) -> tuple[Path, Path] | None:
        """The MP4 and JSONL of the current (or last) recording."""
        return self.recorder.paths if self.recorder is not None else None

    def stop_recording(self) -> int:
        """Finish the recording; returns the number of frames written."""
        return self.recorder.stop() if self.recorder is not None else 0


def _default_threads() -> int:
    from poselive.apps.pipeline import default_threads

    return default_threads()
