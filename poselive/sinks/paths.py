"""Checks on output paths, made before anything is opened: outputs never hurt inputs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from poselive.errors import ConfigError
from poselive.sinks.atomic import partial_path


def _identity(path: Path) -> tuple[Path, tuple[int, int] | None]:
    """The resolved path (symlinks followed) and, if the file exists, its (device, inode)."""
    resolved = path.resolve()
    try:
        st = os.stat(path)
        return resolved, (st.st_dev, st.st_ino)
    except OSError:
        return resolved, None


def _same(a: tuple[Path, tuple[int, int] | None], b: tuple[Path, tuple[int, int] | None]) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def _check_folder(flag: str, path: Path) -> None:
    """The folder the output goes in exists (or can be made) and is writable."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; give a file name, e.g. {path / ('out' + _ext(flag))}")
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{flag} {path}: cannot create folder {folder}, {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "folder" if probe == folder else "folder above it,"
        raise ConfigError(f"{flag} {path}: the {where} {probe} is not writable; choose another place")


def _ext(flag: str) -> str:
    return {"--out": ".mp4", "--json": ".jsonl", "--csv": ".csv"}.get(flag, ".json")


def check_output_paths(outputs: Mapping[str, str | os.PathLike | None] | Iterable[tuple[str, str | os.PathLike | None]],
                       sources: Iterable[object] = ()) -> None:
    """Raise ConfigError (one line) unless every output path is safe to write.

    ``outputs`` maps a label (the flag, e.g. ``--json``; with several sources
    ``[name] --json``) to a path or None. Every output must name its own file (by
    resolved path and by inode, so symlinks and hard links count), must not be a source
    (nor the temporary ``.partial`` name of one), and its folder must be writable.
    Sources that are not local paths (cameras, URLs) are ignored.
    """
    items = list(outputs.items()) if isinstance(outputs, Mapping) else list(outputs)
    srcs = []
    for s in sources:
        if isinstance(s, int) or "://" in str(s) or str(s).isdigit():
            continue
        p = Path(str(s))
        if p.exists():
            srcs.append((str(s), _identity(p)))
    seen: list[tuple[str, Path, tuple[Path, tuple[int, int] | None]]] = []
    for flag, value in items:
        if value is None:
            continue
        path = Path(value)
        _check_folder(flag, path)
        ident, tmp = _identity(path), _identity(partial_path(path))
        for src_text, src in srcs:
            if _same(ident, src):
                raise ConfigError(f"{flag} {path} is the source {src_text}; writing it would destroy the "
                                  "input, choose another output file")
            if _same(tmp, src):
                raise ConfigError(f"{flag} {path} would be written as {partial_path(path)}, which is the "
                                  f"source {src_text}; choose another output file")
        for other_flag, other_path, other in seen:
            if _same(ident, other):
                raise ConfigError(f"{other_flag} and {flag} both name {path}; give each output its own file")
        seen.append((flag, path, ident))
