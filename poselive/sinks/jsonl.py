"""Pose results as JSON Lines: a header object, then one object per frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from poselive.errors import SinkError
from poselive.sinks.records import TIME_DECIMALS, person_records
from poselive.sinks.textfile import TextFileSink
from poselive.types import FramePacket


def _jsonable(value: Any) -> Any:
    """JSON encoder fallback for numpy values, paths, fractions and the like."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def _line(obj: dict[str, Any]) -> str:
    # allow_nan=False: NaN is not JSON; callers must not produce it silently.
    return json.dumps(obj, default=_jsonable, separators=(",", ":"), allow_nan=False) + "\n"


class JsonlSink(TextFileSink):
    """Writes a header line, then ``{"frame", "time", "persons": [...]}`` per frame.

    Each person is ``{"id": int or null, "box": [x1, y1, x2, y2], "score": s,
    "keypoints": [[x, y, score], ...]}`` in original-image pixels (2 decimals; scores 4).
    Every line goes to the OS whole as it is written, so a killed process or a full disk
    leaves only complete lines. A graph stage:
    ``sink(packet)`` returns the packet.
    """

    kind = "JSONL"

    def __init__(self, path: str | Path, header: dict[str, Any], *, name: str = "jsonl_sink") -> None:
        super().__init__(path, name)
        try:
            line = _line(header)
        except (TypeError, ValueError) as exc:
            self._discard()
            raise SinkError(f"cannot write JSONL file {self.path}: {exc}") from exc
        self._start(line)

    @property
    def frames_written(self) -> int:
        """Frame lines written so far."""
        return self.records

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Append the packet's poses as one line and return the packet."""
        record = {
            "frame": int(packet.index),
            "time": round(float(packet.pts), TIME_DECIMALS),
            "persons": person_records(packet),
        }
        try:
            line = _line(record)
        except (TypeError, ValueError) as exc:
            raise SinkError(f"frame {packet.index} cannot be written as JSON: {exc}") from exc
        self._append(packet.index, line)
        return packet


def read_jsonl(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a file JsonlSink wrote: (header, list of frame objects).

    A last line cut off by a killed writer is ignored; a damaged line elsewhere raises
    SinkError naming the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SinkError(f"cannot read JSONL file {path}: {exc}") from exc
    lines = text.split("\n")
    complete = text.endswith("\n")
    if complete:
        lines = lines[:-1]
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines) and not complete:
                break  # the writer was killed mid-line
            raise SinkError(f"{path} line {number} is not valid JSON: {exc}") from exc
    if not objects:
        raise SinkError(f"{path} has no header line; is it a poselive JSONL file?")
    return objects[0], objects[1:]
