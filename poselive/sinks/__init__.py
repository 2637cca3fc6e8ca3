"""Output sinks (graph stages): MP4 video, JSON Lines and CSV pose results."""

from __future__ import annotations

from poselive.sinks.atomic import partial_path
from poselive.sinks.csvfile import CsvSink, csv_columns
from poselive.sinks.group import SinkGroup
from poselive.sinks.jsonl import JsonlSink, read_jsonl
from poselive.sinks.records import person_records
from poselive.sinks.video import VideoSink, even_size

__all__ = [
    "CsvSink",
    "JsonlSink",
    "SinkGroup",
    "VideoSink",
    "csv_columns",
    "even_size",
    "partial_path",
    "person_records",
    "read_jsonl",
]
