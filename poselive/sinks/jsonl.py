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


class JsonlSink(TextFileSink):
    """Writes a header line, then ``{"frame", "time", "persons": [...]}`` per frame.

    Each person is ``{"id": int or null, "box": [x1, y1, x2, y2], "score": s,
    "keypoints": [[x, y, score], ...]}`` in original-image pixels (2 decimals; scores 4).
    Every line is flushed, so a killed process leaves only complete lines. A graph stage:
    ``sink(packet)`` returns the packet.
    """

    kind = "JSONL"

    def __init__(self, path: str | Path, header: dict[str, Any], *, name: str = "jsonl_sink") -> None:
        super().__init__(path, name, newline="\n")
        self.frames_written = 0
        try:
            self._write(header)
        except (OSError, TypeError, ValueError) as exc:
            self.close()
            raise SinkError(f"cannot write JSONL file {self.path}: {exc}") from exc

    def _write(self, obj: dict[str, Any]) -> None:
        assert self._file is not None
        # allow_nan=False: NaN is not JSON; callers must not produce it silently.
        self._file.write(json.dumps(obj, default=_jsonable, separators=(",", ":"), allow_nan=False) + "\n")
        self._file.flush()

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Append the packet's poses as one line and return the packet."""
        record = {
            "frame": int(packet.index),
            "time": round(float(packet.pts), TIME_DECIMALS),
            "persons": person_records(packet),
        }
        self._append(packet.index, lambda: self._write(record))
        self.frames_written += 1
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
