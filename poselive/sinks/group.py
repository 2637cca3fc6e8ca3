"""All the outputs of a run as one graph stage, so every output holds the same frames."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from poselive.errors import SinkError
from poselive.types import FramePacket


class SinkGroup:
    """Writes each frame to every sink in turn (video first, then the text files).

    One stage for all outputs means a stop or an error between frames can never leave
    one file with a frame that another lacks (separate sink stages joined by queues
    could). Each sink's time goes to ``packet.timings[sink.name]``. ``close()`` closes
    every sink, even when one fails, and then raises the first error.
    """

    input_policy = "lossless"

    def __init__(self, sinks: Sequence[Any], *, name: str = "sinks") -> None:
        if not sinks:
            raise ValueError("SinkGroup needs at least one sink")
        self.sinks = list(sinks)
        self.name = name
        self.frames = 0

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Write the packet to every sink and return it."""
        for sink in self.sinks:
            t = time.perf_counter()
            sink(packet)
            packet.timings[sink.name] = time.perf_counter() - t
        self.frames += 1
        return packet

    def close(self) -> None:
        """Finalise every sink (each renames its file into place); raise the first error."""
        first: BaseException | None = None
        for sink in self.sinks:
            try:
                sink.close()
            except SinkError as exc:
                first = first or exc
        if first is not None:
            raise first

    def discard(self) -> None:
        """For a run that never started: close every sink and remove its partial file."""
        for sink in self.sinks:
            sink.discard()

    def reports(self) -> list[str]:
        """One line per output: what was written where (see each sink's ``report()``)."""
        return [s.report() for s in self.sinks]
