"""How much the apps print: poselive's own log lines and the third-party libraries' ones.

OpenCV (``[ WARN:0@0.2] global cap_v4l.cpp …``), ONNX Runtime and FFmpeg (through PyAV)
write to the terminal on their own; by default only their errors get through, ``--verbose``
lets everything through, ``--quiet`` keeps poselive itself to errors as well.
"""

from __future__ import annotations

import logging
import os
import sys

from poselive.interrupts import reraise_interrupt

QUIET, NORMAL, VERBOSE = -1, 0, 1
_level = NORMAL


def say(message: str) -> None:
    """A progress or summary line for the user on stderr (not with ``--quiet``)."""
    if _level > QUIET:
        print(message, file=sys.stderr)


def verbosity(args) -> int:
    """The verbosity the parsed ``-q``/``-v`` flags ask for."""
    if getattr(args, "verbose", False):
        return VERBOSE
    if getattr(args, "quiet", False):
        return QUIET
    return NORMAL


def configure(level: int = NORMAL) -> None:
    """Set poselive's and the third-party libraries' log levels for ``level``."""
    global _level
    _level = level
    # OpenCV reads this when it first logs; setLogLevel covers an already imported cv2.
    os.environ["OPENCV_LOG_LEVEL"] = "INFO" if level >= VERBOSE else "ERROR"
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8" if level < VERBOSE else "32")
    if "cv2" in sys.modules:
        _cv2_level(level)
    # ONNX Runtime: 0 verbose .. 3 error; sessions take the default logger's severity.
    os.environ["POSELIVE_ORT_LOG_SEVERITY"] = "2" if level >= VERBOSE else "3"
    if "onnxruntime" in sys.modules:
        sys.modules["onnxruntime"].set_default_logger_severity(int(os.environ["POSELIVE_ORT_LOG_SEVERITY"]))
    try:
        import av.logging

        av.logging.set_level(av.logging.VERBOSE if level >= VERBOSE else None)
    except (ImportError, AttributeError) as exc:  # pragma: no cover - PyAV is a runtime dependency
        reraise_interrupt(exc)
    log = logging.getLogger("poselive")
    log.setLevel(logging.INFO if level >= VERBOSE else logging.ERROR if level <= QUIET else logging.WARNING)
    if level >= VERBOSE and not any(getattr(h, "_poselive", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)  # INFO lines need a handler; warnings have one
        handler.setFormatter(logging.Formatter("poselive: %(message)s"))
        handler._poselive = True  # type: ignore[attr-defined]
        log.addHandler(handler)


def _cv2_level(level: int) -> None:
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_INFO if level >= VERBOSE
                                      else cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover - very old OpenCV
        cv2.setLogLevel(4 if level >= VERBOSE else 2)
