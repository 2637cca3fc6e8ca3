"""Output files that never show a half-written file under the user's name.

Every sink writes to ``<stem>.partial<suffix>`` beside its target and renames it into
place when it is finalised; a sink that failed leaves the partial file and says so.
Text records are written whole: a write that fails part-way is cut back to the last
complete record, so a full disk never leaves half a line.
"""

from __future__ import annotations

import os
from pathlib import Path

from poselive.errors import SinkError


def partial_path(path: str | os.PathLike) -> Path:
    """The temporary name an output is written under: ``out.mp4`` -> ``out.partial.mp4``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.partial{p.suffix}")


def finish_output(partial: Path, final: Path) -> None:
    """Rename a finalised partial file into place (atomic on one filesystem)."""
    try:
        os.replace(partial, final)
    except OSError as exc:
        raise SinkError(f"cannot rename {partial} to {final}: {exc}; the output is in {partial}") from exc


class RecordFile:
    """An append-only file written in whole records through the OS (no hidden buffer).

    ``write(data)`` either appends all of ``data`` or, on an OS error (disk full, I/O
    error), truncates the file back to its previous end and raises ``OSError``; the file
    therefore always ends at a record boundary.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o666)
        self.size = 0

    @property
    def closed(self) -> bool:
        return self._fd is None

    def write(self, data: bytes) -> None:
        """Append ``data`` whole, or nothing of it."""
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        view, done = memoryview(data), 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
        except OSError:
            if done:
                try:
                    os.ftruncate(self._fd, self.size)
                    os.lseek(self._fd, self.size, os.SEEK_SET)
                except OSError:  # nothing more can be done; the reader drops a cut last line
                    pass
            raise
        self.size += len(data)

    def close(self) -> None:
        """Close the file descriptor (safe twice)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class OutputFile:
    """A seekable binary file for FFmpeg's muxer (through PyAV) that reports every failed
    write: FFmpeg's own file output drops write errors (a full disk gives a truncated MP4
    and a clean exit), but an exception raised here comes out of ``mux()``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o666)
        self._pos = 0

    def write(self, data: bytes) -> int:
        """Write all of ``data`` at the current position, or raise OSError."""
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        view, done = memoryview(data), 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        self._pos += done
        return done

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        self._pos = os.lseek(self._fd, offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        """Nothing is buffered here."""

    def close(self) -> None:
        """Close the file descriptor (safe twice)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def trim_to_last_fragment(path: str | os.PathLike) -> int:
    """Cut a fragmented MP4 back to its last complete fragment (``moof`` + ``mdat``).

    A write that failed part-way (a full disk) leaves a fragment cut off; without it the
    file ends cleanly and every player reads it to the end. Returns the new size."""
    path = Path(path)
    with open(path, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        pos, good, pending_moof = 0, 0, None
        while pos + 8 <= size:
            f.seek(pos)
            head = f.read(16)
            box_size, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if box_size == 1 and len(head) >= 16:
                box_size = int.from_bytes(head[8:16], "big")
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8 or pos + box_size > size:
                break
            if kind == b"moof":
                pending_moof = pos
            else:
                if kind == b"mdat" or pending_moof is None:
                    good = pos + box_size
                pending_moof = None
            pos += box_size
        if good < size:
            f.truncate(good)
    return good
