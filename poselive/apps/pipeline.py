"""Wiring: open a source and the models, build the stage chain and the graph."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from poselive import __version__, assets
from poselive.apps.options import PipelineOptions
from poselive.errors import ConfigError

# Kept importable from here: the apps used to find it in this module.
__all__ = ["PipelineOptions", "Pipeline", "Models", "open_models", "build_pipeline", "source_names",
           "output_for", "default_threads", "pose_workers"]


@dataclass
class Pipeline:
    """An assembled graph plus what the apps need to report on it."""

    graph: Any
    source: Any
    header: dict
    keypoint_set: Any
    outputs: list[str]
    # role -> (model file, backend that runs it), for the end-of-run summary
    models: dict[str, tuple[str, str]] = field(default_factory=dict)
    sinks: Any = None  # the SinkGroup writing every output, or None

    def reports(self) -> list[str]:
        """One line per output: ``wrote PATH (N frames)`` or what a failed run left."""
        return self.sinks.reports() if self.sinks is not None else []

    def discard(self) -> None:
        """Release a pipeline that will not run: close the source, remove partial outputs."""
        self.source.close()
        if self.sinks is not None:
            self.sinks.discard()


def default_threads() -> int:
    """CPU threads per model: the detector and pose stages run at the same time, so each
    gets half the cores (measured on 2 cores: 13.0 fps with 1 thread each, 9.5 with 2)."""
    return max(1, (os.cpu_count() or 2) // 2)


def pose_workers(opts: PipelineOptions, engine: Any = None) -> int:
    """Concurrent engine calls the pose stage splits a frame's crops into. With detection
    every N > 1 frames the detector's core is idle most of the time, so the pose model
    (then the only busy model) takes every core: one call per core, each on its own
    threads (ONNX Runtime sessions take concurrent calls; other backends get 1)."""
    if engine is not None and getattr(engine, "backend", None) != "onnxruntime":
        return 1
    if opts.det_interval > 1 or opts.adaptive_interval:
        return max(1, (os.cpu_count() or 2) // (opts.threads or default_threads()))
    return 1


def _open_engine(path: str | os.PathLike, backend: str, threads: int | None):
    from engines import open_engine

    return open_engine(str(path), backend=backend, threads=threads or default_threads())


@dataclass
class Models:
    """The detector and pose engines a pipeline runs (shared by the pipelines of several
    sources: ``shareable`` engines take concurrent calls)."""

    det_path: Path
    det_engine: Any
    pose_path: Path
    pose_engine: Any


def open_models(opts: PipelineOptions, shared: bool = False) -> Models:
    """Open the detector and pose engines that ``opts`` names (the shipped ones by default).

    ``shared``: several pipelines will call them from their own threads."""
    det_path = assets.resolve_model(opts.det, "det")
    pose_path = assets.resolve_model(opts.pose, "pose")
    det_engine = _open_engine(det_path, opts.backend, opts.threads)
    pose_engine = _open_engine(pose_path, opts.backend, opts.threads)
    if shared:
        from engines.base import shareable

        det_engine, pose_engine = shareable(det_engine), shareable(pose_engine)
    return Models(det_path, det_engine, pose_path, pose_engine)


def build_pipeline(opts: PipelineOptions, models: Models | None = None, source: Any = None,
                   extra_stages: tuple = ()) -> Pipeline:
    """Open source, engines, stages and sinks and join them in a Graph (not started).

    ``models``: engines opened already (``open_models``), e.g. shared between sources.
    ``source``: a source opened already (``opts.source`` is then only its label);
    ``extra_stages`` run last (the GUI's recorder)."""
    from poselive.graph import Graph
    from poselive.keypoints import get_keypoint_set
    from poselive.sinks import CsvSink, JsonlSink, SinkGroup, VideoSink
    from poselive.sources import open_source
    from poselive.stages import DetectorStage, PoseStage
    from poselive.stages.render import Renderer

    # Models first: a wrong model file should fail before a camera or stream is opened.
    if models is None:
        models = open_models(opts)
    det_path, pose_path = models.det_path, models.pose_path
    detector = DetectorStage(models.det_engine, adapter=opts.det_adapter, score_threshold=opts.det_threshold)
    pose = PoseStage(models.pose_engine, adapter=opts.pose_adapter,
                     workers=pose_workers(opts, models.pose_engine))
    kset = pose.keypoint_set if getattr(pose, "keypoint_set", None) is not None else get_keypoint_set("coco17")

    if source is None:
        if opts.realtime:
            from poselive.sources.playback import PlaybackSource

            # A file at its own frame rate (a live source passes through unchanged).
            source = PlaybackSource(opts.source, opts.source_options, realtime=True, loop=opts.loop)
        else:
            source = open_source(opts.source, **opts.source_options)
    stages: list = []
    sinks: list = []
    try:
        if opts.det_interval > 1 or opts.adaptive_interval:
            from poselive.stages.tracker import IntervalDetectorStage, IntervalPoseStage
            from poselive.tracking import DetectionScheduler

            # The detector picks its frames by index; the pose stage carries each person's
            # ROI from its previous frame on the others (deterministic on files).
            scheduler = DetectionScheduler(interval=opts.det_interval, adaptive=opts.adaptive_interval,
                                           keypoint_set=kset.name)
            stages.append(IntervalDetectorStage(detector, scheduler))
            stages.append(IntervalPoseStage(pose, scheduler))
        else:
            scheduler = None
            stages.append(detector)
            stages.append(pose)
        if opts.track:
            from poselive.stages.tracker import TrackerStage

            stages.append(TrackerStage(kset.name, smoothing=opts.smoothing, trails=opts.trails))
        graph_ref: dict[str, Any] = {}

        live = bool(source.is_live or opts.realtime)

        def stats_for_hud() -> dict:
            g = graph_ref.get("graph")
            return {} if g is None else hud_stats(g.stats(), live)

        renderer = Renderer(kset, kpt_threshold=opts.kpt_threshold, stats_provider=stats_for_hud)
        if opts.render or opts.out:
            stages.append(renderer)
        header = {
            "poselive_version": __version__,
            "source": str(opts.source),
            "fps": source.fps,
            "realtime": bool(opts.realtime),
            "frame_size": list(source.size) if source.size else None,
            "keypoint_set": kset.name,
            "keypoint_names": list(kset.names),
            "skeleton": [list(p) for p in kset.skeleton],
            "models": {"detector": str(det_path), "pose": str(pose_path)},
        }
        outputs = []
        # One stage writes every output of a frame, so the files always hold the same frames.
        if opts.out:
            audio = source.info.get("path") if source.info.get("has_audio") else None
            sinks.append(VideoSink(opts.out, fps=source.fps or 30.0, size=source.size,
                                   time_base=source.info.get("time_base"), audio_from=audio))
            outputs.append(opts.out)
        if opts.json:
            sinks.append(JsonlSink(opts.json, header))
            outputs.append(opts.json)
        if opts.csv:
            sinks.append(CsvSink(opts.csv, list(kset.names)))
            outputs.append(opts.csv)
        group = SinkGroup(sinks) if sinks else None
        if group is not None:
            stages.append(group)
        stages.extend(extra_stages)
        on_result = opts.on_result
        if scheduler is not None and opts.adaptive_interval and live:
            on_result = _LoadReporter(scheduler, graph_ref, source.fps, opts.on_result)
        policy = opts.policy or ("latest" if opts.realtime else None)
        graph = Graph(source, stages, policy=policy, queue_size=opts.queue_size,
                      on_result=on_result)
        graph_ref["graph"] = graph
    except BaseException:
        source.close()
        for sink in sinks:
            sink.discard()
        raise
    used = {"detector": (str(det_path), getattr(models.det_engine, "backend", "?")),
            "pose": (str(pose_path), getattr(models.pose_engine, "backend", "?"))}
    return Pipeline(graph=graph, source=source, header=header, keypoint_set=kset, outputs=outputs,
                    models=used, sinks=group)


HUD_MIN_FRAMES = 5  # frames finished before the HUD shows an FPS: fewer measure nothing yet


def hud_stats(st, live: bool) -> dict:
    """What the HUD shows from a graph stats snapshot: FPS once it is measured (not 0.0 on
    the first frames), the end-to-end latency (capture to output for a live source; for a
    file, read to output, which includes waiting in the lossless queues), drops, reconnects."""
    measured = st.frames_out >= HUD_MIN_FRAMES and st.fps_recent > 0
    return {"fps": st.fps_recent if measured else None, "latency_ms": st.latency_p50_ms,
            "live": live, "drops": st.drops, "reconnects": (st.source_status or {}).get("reconnects")}


class _LoadReporter:
    """Feeds the detection scheduler the graph's drops and latency about twice a second.

    Runs as the graph's ``on_result`` (the last stage's thread), so it only reads a stats
    snapshot now and then and never blocks.
    """

    def __init__(self, scheduler, graph_ref: dict, fps: float | None, then: Callable | None,
                 period: float = 0.5) -> None:
        self.scheduler, self.graph_ref, self.then, self.period = scheduler, graph_ref, then, period
        self.frame_interval = 1.0 / fps if fps else None
        self._last_t = 0.0
        self._last_drops = 0

    def __call__(self, packet) -> None:
        import time

        now = time.perf_counter()
        graph = self.graph_ref.get("graph")
        if graph is not None and now - self._last_t >= self.period:
            st = graph.stats()
            drops = st.drops - self._last_drops
            self._last_drops, self._last_t = st.drops, now
            lat = st.latency_p50_ms / 1000.0 if st.latency_p50_ms is not None else None
            self.scheduler.report_load(dropped=drops, latency=lat, frame_interval=self.frame_interval)
        if self.then is not None:
            self.then(packet)


# -- several sources --------------------------------------------------------------------
def source_names(sources: list[str | int]) -> list[str]:
    """A short, file-name-safe, unique name per source (for ``{name}`` in output paths):
    a file's stem, ``cam0`` for camera 0, ``host_port_path`` for a stream URL."""
    import re

    names = []
    for src in sources:
        text = str(src).strip()
        if isinstance(src, int) or text.isdigit():
            name = f"cam{text}"
        elif "://" in text:
            rest = text.split("://", 1)[1].split("@")[-1]  # no user:password
            name = rest
        else:
            path = Path(text)
            name = path.stem if path.suffix else path.name
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "source"
        base, k = name, 2
        while name in names:
            name = f"{base}_{k}"
            k += 1
        names.append(name)
    return names


def output_for(template: str | None, name: str, several: bool, flag: str) -> str | None:
    """An output path for one source: ``{name}`` in the template becomes the source's name.

    With several sources every output needs ``{name}``, or all would write one file."""
    if template is None:
        return None
    if "{name}" not in template:
        if several:
            raise ConfigError(f"with several sources, {flag} needs {{name}} in its path so that each "
                              f"source gets its own file, e.g. {flag} 'out/{{name}}{Path(template).suffix}'")
        return template
    return template.replace("{name}", name)
