"""What the text sinks (JSONL, CSV) share: opening, locked appends, closing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO, Callable

from poselive.errors import SinkError


class TextFileSink:
    """A graph stage that appends text to one file; subclasses format the frames.

    Every append happens under a lock and is flushed by the subclass, so a killed process
    leaves only complete records; ``close()`` is safe to call twice.
    """

    #: Ask the graph for a lossless input edge: results of every frame are kept.
    input_policy = "lossless"
    kind = "text"

    def __init__(self, path: str | Path, name: str, newline: str) -> None:
        self.path = Path(path)
        self.name = name
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8", newline=newline)
        except OSError as exc:
            raise SinkError(f"cannot write {self.kind} file {self.path}: {exc}") from exc

    def _append(self, frame_index: int, write: Callable[[], None]) -> None:
        """Run ``write`` under the lock, turning I/O errors into SinkError."""
        with self._lock:
            if self._file is None:
                raise SinkError(f"{self.kind} file {self.path} is already closed")
            try:
                write()
            except (OSError, ValueError) as exc:
                raise SinkError(f"writing frame {frame_index} to {self.path} failed: {exc}") from exc

    def close(self) -> None:
        """Close the file (safe twice)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
