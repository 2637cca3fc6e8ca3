"""What the text sinks (JSONL, CSV) share: a partial file, whole-record appends, closing."""

from __future__ import annotations

import threading
from pathlib import Path

from poselive.errors import SinkError
from poselive.sinks.atomic import RecordFile, finish_output, partial_path


class TextFileSink:
    """A graph stage that appends text records to one file; subclasses format the frames.

    The file is written as ``<stem>.partial<suffix>`` and renamed to ``path`` by
    ``close()``. Every record goes to the OS whole (a write error cuts it back), under a
    lock, so a killed process or a full disk leaves only complete records. After a write
    error the sink refuses further records and ``close()`` leaves the partial file
    (``written_path`` says where the data is); ``close()`` is safe to call twice.
    """

    #: Ask the graph for a lossless input edge: results of every frame are kept.
    input_policy = "lossless"
    kind = "text"

    def __init__(self, path: str | Path, name: str, newline: str = "\n") -> None:
        self.path = Path(path)
        self.partial_path = partial_path(self.path)
        self.name = name
        self.records = 0  # frames written
        self.failed: str | None = None  # the write error, once one happened
        self.finished = False  # renamed into place
        self._lock = threading.Lock()
        self._file: RecordFile | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = RecordFile(self.partial_path)
        except OSError as exc:
            raise SinkError(f"cannot write {self.kind} file {self.path}: {exc}") from exc

    def _start(self, text: str) -> None:
        """Write the file's header; on failure remove the partial file and raise SinkError."""
        try:
            assert self._file is not None
            self._file.write(text.encode("utf-8"))
        except OSError as exc:
            self._discard()
            raise SinkError(f"cannot write {self.kind} file {self.path}: {exc}") from exc

    def discard(self) -> None:
        """Close without finalising and remove the partial file (a run that never started)."""
        self._discard()

    def _discard(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self.failed = self.failed or "not started"
            self.partial_path.unlink(missing_ok=True)

    def _append(self, frame_index: int, text: str) -> None:
        """Append one frame's text whole, turning I/O errors into SinkError."""
        with self._lock:
            if self._file is None:
                raise SinkError(f"{self.kind} file {self.path} is already closed")
            if self.failed is not None:
                raise SinkError(self.failed)
            try:
                self._file.write(text.encode("utf-8"))
            except OSError as exc:
                self.failed = f"writing frame {frame_index} to {self.path} failed: {exc}"
                raise SinkError(self.failed) from exc
            self.records += 1

    def close(self) -> None:
        """Close the file and rename it into place unless a write failed (safe twice)."""
        with self._lock:
            if self._file is None:
                return
            self._file.close()
            self._file = None
            if self.failed is None:
                finish_output(self.partial_path, self.path)
                self.finished = True

    @property
    def written_path(self) -> Path:
        """Where the data is: ``path`` once finalised, else the partial file."""
        return self.path if self.finished else self.partial_path

    def report(self) -> str:
        """One line for the run's summary: what was written where."""
        if self.finished:
            return f"wrote {self.path} ({self.records} frames)"
        why = self.failed or "not finalised"
        return f"left {self.partial_path} ({self.records} complete frames; {why})"

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
