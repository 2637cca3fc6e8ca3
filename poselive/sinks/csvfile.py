"""Pose results as CSV: one row per person per frame."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from poselive.errors import SinkError
from poselive.sinks.records import TIME_DECIMALS, person_records
from poselive.sinks.textfile import TextFileSink
from poselive.types import FramePacket


def csv_columns(keypoint_names: Sequence[str]) -> list[str]:
    """The header row CsvSink writes for these keypoint names."""
    cols = ["frame", "time", "id", "x1", "y1", "x2", "y2", "score"]
    for name in keypoint_names:
        cols += [f"{name}_x", f"{name}_y", f"{name}_s"]
    return cols


def _rows_text(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


class CsvSink(TextFileSink):
    """Writes ``frame,time,id,x1,y1,x2,y2,score,<kp>_x,<kp>_y,<kp>_s,...`` rows.

    One row per person per frame (frames with nobody write no row); ``id`` is empty for
    untracked persons. A frame's rows go to the OS whole, as they are written. A graph stage: ``sink(packet)``
    returns the packet.
    """

    kind = "CSV"

    def __init__(self, path: str | Path, keypoint_names: Sequence[str], *, name: str = "csv_sink") -> None:
        super().__init__(path, name)
        self.keypoint_names = list(keypoint_names)
        self.rows_written = 0
        self._start(_rows_text([csv_columns(self.keypoint_names)]))

    def __call__(self, packet: FramePacket) -> FramePacket:
        """Append one row per person of the packet and return the packet."""
        time_s = round(float(packet.pts), TIME_DECIMALS)
        rows = []
        for person in person_records(packet):
            kpts = person["keypoints"]
            if len(kpts) != len(self.keypoint_names):
                raise SinkError(
                    f"CSV file {self.path} has {len(self.keypoint_names)} keypoint columns "
                    f"but frame {packet.index} has {len(kpts)} keypoints; pass the model's "
                    "keypoint names"
                )
            row: list[object] = [packet.index, time_s, "" if person["id"] is None else person["id"]]
            row += person["box"] + [person["score"]]
            for x, y, s in kpts:
                row += [x, y, s]
            rows.append(["" if v is None else v for v in row])

        if rows:
            self._append(packet.index, _rows_text(rows))
        else:
            self._append(packet.index, "")  # counts the frame; refuses after an error
        self.rows_written += len(rows)
        return packet
