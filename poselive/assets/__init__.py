"""Files poselive ships as package data: the default models, their cards and a sample clip.

They are found with :mod:`importlib.resources`, so they work the same from a clone, an
editable install and an installed wheel. ``MODELS`` is the one table of shipped models;
switching the defaults means editing ``MODELS`` and ``ALIASES`` here and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from poselive.errors import ConfigError, ModelError


@dataclass(frozen=True)
class ShippedModel:
    """One model poselive ships: its file, what it is (``det`` or ``pose``) and its card."""

    name: str
    file: str
    kind: str
    card: str
    summary: str


MODELS: dict[str, ShippedModel] = {m.name: m for m in (
    ShippedModel("poselive-det-nano", "poselive-det-nano.onnx", "det", "poselive-det-nano.md",
                 "person detector, 320x320: RTMDet-nano weights (Apache-2.0) fine-tuned by poselive's trainer"),
    ShippedModel("poselive-pose-lightning", "poselive-pose-lightning.onnx", "pose", "poselive-pose-lightning.md",
                 "COCO-17 pose, 192x192 square crops, MoveNet Lightning weights (Apache-2.0)"),
    ShippedModel("poselive-pose-thunder", "poselive-pose-thunder.onnx", "pose", "poselive-pose-thunder.md",
                 "COCO-17 pose, 256x256 square crops, MoveNet Thunder weights (Apache-2.0)"),
)}

# Short names for the shipped pose models.
ALIASES: dict[str, str] = {
    "fast": "poselive-pose-lightning",
    "accurate": "poselive-pose-thunder",
}
# What --det and --pose default to (a name or alias of MODELS).
DEFAULTS: dict[str, str] = {"det": "poselive-det-nano", "pose": "fast"}

# The shipped sample clip; ``sample`` as a source names it.
SAMPLE_NAME = "sample"
SAMPLE_FILE = "sample.mp4"


def asset_dir() -> Path:
    """The folder that holds the shipped files (inside the installed package)."""
    return Path(str(resources.files(__name__)))


def names() -> list[str]:
    """Every shipped model name and alias, for help texts and errors."""
    return list(MODELS) + list(ALIASES)


def is_model_name(text: str) -> bool:
    """Whether ``text`` is a shipped model's name or alias (not a path)."""
    return text in MODELS or text in ALIASES


def lookup(name: str) -> ShippedModel:
    """The table entry for a shipped model's name or alias."""
    key = ALIASES.get(name, name)
    if key not in MODELS:
        raise ConfigError(f"unknown model name '{name}'; shipped names: {', '.join(names())}")
    return MODELS[key]


def model_path(name: str, flag: str = "--pose") -> Path:
    """The file of a shipped model (name or alias); one clear line when it is not installed."""
    m = lookup(name)
    path = asset_dir() / m.file
    if not path.is_file():
        shown = m.name if name == m.name else f"{name} ({m.name})"
        raise ModelError(f"shipped model {shown} is not installed: {path} is missing; "
                         f"pass a model file instead: {flag} PATH")
    return path


def card_path(name: str) -> Path | None:
    """The model card of a shipped model, when it is there."""
    path = asset_dir() / lookup(name).card
    return path if path.is_file() else None


def default_model(kind: str, flag: str | None = None) -> Path:
    """The file of the default detector (``kind='det'``) or pose model (``'pose'``)."""
    return model_path(DEFAULTS[kind], flag or f"--{kind}")


def resolve_model(text: str | None, kind: str, flag: str | None = None) -> Path:
    """A ``--det``/``--pose`` value as a file: a path as given, a shipped name or alias
    as its packaged file, nothing as the default model of ``kind``."""
    flag = flag or f"--{kind}"
    if not text:
        return default_model(kind, flag)
    if is_model_name(text) and not Path(text).exists():
        return model_path(text, flag)
    return Path(text)


def sample_path() -> Path:
    """The shipped sample clip."""
    path = asset_dir() / SAMPLE_FILE
    if not path.is_file():
        raise ConfigError(f"the sample clip is not installed ({path} is missing); pass a video file instead")
    return path


def resolve_source(source: str | int) -> str | int:
    """``sample`` as the shipped clip (unless a file of that name is here); anything else as given."""
    if source == SAMPLE_NAME and not Path(SAMPLE_NAME).exists():
        return str(sample_path())
    return source


__all__ = ["MODELS", "ALIASES", "DEFAULTS", "ShippedModel", "asset_dir", "names", "is_model_name",
           "lookup", "model_path", "card_path", "default_model", "resolve_model", "sample_path",
           "resolve_source"]
