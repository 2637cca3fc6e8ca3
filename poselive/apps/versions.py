"""`poselive --version`: poselive's version and those of the runtime pieces it runs on."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

from poselive import __version__
from poselive.interrupts import reraise_interrupt

# (label, distribution names to try): the version comes from the installed metadata, so
# nothing heavy (torch) is imported just to print it.
RUNTIME = (
    ("ONNX Runtime", ("onnxruntime", "onnxruntime-gpu")),
    ("PyAV", ("av",)),
    ("OpenCV", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                "opencv-contrib-python")),
    ("NumPy", ("numpy",)),
    ("torch", ("torch",)),
    ("TensorRT", ("tensorrt", "tensorrt-cu12")),
)


def _dist_version(names: tuple[str, ...]) -> str | None:
    for n in names:
        try:
            return metadata.version(n)
        except metadata.PackageNotFoundError:
            continue
    return None


def versions() -> dict[str, str | None]:
    """poselive's version and each runtime piece's (None when it is not installed)."""
    out: dict[str, str | None] = {"poselive": __version__}
    for label, names in RUNTIME:
        out[label] = _dist_version(names)
    if out["OpenCV"] is None:  # a system OpenCV without pip metadata
        try:
            import cv2

            out["OpenCV"] = cv2.__version__
        except ImportError as exc:
            reraise_interrupt(exc)
    return out


def version_text() -> str:
    """The text `poselive --version` prints."""
    v = versions()
    lines = [f"poselive {v.pop('poselive')} (Python {sys.version.split()[0]})"]
    for label, ver in v.items():
        if ver is None and label in ("torch", "TensorRT"):
            continue  # optional extras: only named when present
        lines.append(f"  {label:<13}{ver or 'not installed'}")
    return "\n".join(lines)


class VersionAction(argparse.Action):
    """``--version``: print ``version_text()`` and exit 0."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()
