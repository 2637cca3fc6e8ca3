"""One exception hierarchy: every error poselive raises on purpose derives from PoseliveError.

Messages say what went wrong and what to do about it, so the CLI can print them without a
traceback.
"""

from __future__ import annotations


class PoseliveError(Exception):
    """Base class of all errors poselive raises deliberately."""


class SourceError(PoseliveError):
    """A frame source could not be opened or read."""


class NoCameraError(SourceError):
    """No camera at the index or device asked for; the app that ran says what to type instead."""


class SinkError(PoseliveError):
    """An output (video, JSONL, CSV) could not be written."""


class ModelError(PoseliveError):
    """A model, checkpoint or engine file is missing, corrupt or of the wrong kind."""


class ConfigError(PoseliveError):
    """A configuration, flag combination or spec is invalid."""


class MissingExtraError(PoseliveError):
    """An optional dependency is needed; the message names the pip extra to install."""

    def __init__(self, package: str, extra: str, purpose: str = "") -> None:
        what = f" for {purpose}" if purpose else ""
        super().__init__(
            f"{package} is needed{what} but is not installed; "
            f"install it with: pip install 'poselive[{extra}]'"
        )
        self.package = package
        self.extra = extra


class StageError(PoseliveError):
    """A stage of the graph raised; carries the stage's name and the original error."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"stage '{stage}' failed: {type(error).__name__}: {error}")
        self.stage = stage
        self.error = error


def require(module: str, extra: str, purpose: str = ""):
    """Import an optional module or raise MissingExtraError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module, extra, purpose) from exc
