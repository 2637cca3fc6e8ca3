"""What the graph runtime needs from a frame source and from a stage."""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

from poselive.types import FramePacket


@runtime_checkable
class Source(Protocol):
    """A stream of frame packets: a video file, a webcam, an RTSP stream, a folder of images.

    ``__iter__`` yields packets until the end of the stream. ``close()`` may be called from
    another thread while ``__iter__`` is blocked waiting for a frame and must make it return
    soon; the graph calls it exactly once.
    """

    name: str
    is_live: bool  # cameras/RTSP: True -> the graph defaults to the "latest" policy
    fps: float | None
    size: tuple[int, int] | None  # (width, height)

    def __iter__(self) -> Iterator[FramePacket]: ...

    def close(self) -> None: ...


@runtime_checkable
class Stage(Protocol):
    """One synchronous processing step: takes a packet, enriches it and returns it.

    A stage may also define ``close()``; the graph calls it exactly once at shutdown, in
    the stage's own thread when possible (sinks finalise their files there). A stage may
    set ``input_policy = "lossless"`` to ask for a lossless input edge by default (a file
    sink that must not lose rendered frames of a live stream).
    """

    name: str

    def __call__(self, packet: FramePacket) -> FramePacket: ...
