"""A fault in each stage of the real pipeline in turn, and a failing sink: the run ends
within 2 s naming the stage, leaves no thread behind, and the outputs are finalised."""

from __future__ import annotations

import threading
import time

import pytest

from poselive.apps.pipeline import PipelineOptions, build_pipeline
from poselive.errors import SinkError, StageError
from poselive.graph import Graph
from poselive.sinks import read_jsonl

FAULT_AT = 6


class Faulty:
    """Wraps a real stage; raises on the FAULT_AT-th packet and notes when."""

    def __init__(self, stage, error: BaseException) -> None:
        self.stage, self.error, self.calls, self.raised_at = stage, error, 0, None
        self.name = stage.name
        policy = getattr(stage, "input_policy", None)
        if policy is not None:
            self.input_policy = policy

    def __call__(self, packet):
        self.calls += 1
        if self.calls == FAULT_AT:
            self.raised_at = time.perf_counter()
            raise self.error
        return self.stage(packet)

    def close(self) -> None:
        close = getattr(self.stage, "close", None)
        if close is not None:
            close()


class FaultySource:
    """Wraps the real file source; its stream breaks after FAULT_AT frames."""

    def __init__(self, source) -> None:
        self.source, self.raised_at = source, None
        for k in ("name", "is_live", "fps", "size", "info"):
            setattr(self, k, getattr(source, k))

    def __iter__(self):
        for i, p in enumerate(self.source):
            if i == FAULT_AT:
                self.raised_at = time.perf_counter()
                raise OSError("injected: the disk holding the video went away")
            yield p

    def close(self) -> None:
        self.source.close()


STAGES = ["source", "detector", "pose", "tracker", "render", "sinks"]


@pytest.mark.parametrize("where", STAGES)
def test_a_fault_in_each_stage(media, tmp_path, where):
    clip = media.write_clip(tmp_path / "c.mp4", n=40, size=(128, 96))
    out, js, csv = tmp_path / "o.mp4", tmp_path / "o.jsonl", tmp_path / "o.csv"
    pipe = build_pipeline(PipelineOptions(source=str(clip), out=str(out), json=str(js), csv=str(csv),
                                          render=True))
    names = [s.name for s in pipe.graph.stages]
    assert names == ["detector", "pose", "tracker", "render", "sinks"]
    source, stages, fault = pipe.source, list(pipe.graph.stages), None
    if where == "source":
        source = fault = FaultySource(pipe.source)
    else:
        i = names.index(where)
        err = SinkError(f"writing frame {FAULT_AT} to {out} failed: injected") if where == "sinks" \
            else RuntimeError("injected fault")
        stages[i] = fault = Faulty(stages[i], err)
    graph = Graph(source, stages, queue_size=4)
    with pytest.raises(StageError) as info:
        graph.run(handle_signals=False)
    ended = time.perf_counter()
    assert info.value.stage == (pipe.source.name if where == "source" else where)
    assert fault.raised_at is not None and ended - fault.raised_at < 2.0
    assert not [t.name for t in threading.enumerate() if t.name.startswith("graph:")]
    assert graph.stats().stuck_threads == []
    # outputs finalised: renamed into place, the MP4 plays, every file holds the same frames
    assert out.exists() and js.exists() and csv.exists(), pipe.reports()
    assert not list(tmp_path.glob("*.partial.*"))
    n_video = len(media.video_frames(out))
    _, frames = read_jsonl(js)
    assert n_video == len(frames)
    if where == "source":  # a source error drains: every frame read is in every output
        assert n_video == FAULT_AT
    else:
        assert n_video <= FAULT_AT
