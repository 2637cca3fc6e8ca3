"""Shared fixtures: where the real data lives, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt windows in tests are real but offscreen (no display on CI machines).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


def shared_root() -> Path | None:
    """The shared data folder: $POSELIVE_SHARED, else ../shared beside the repo."""
    env = os.environ.get("POSELIVE_SHARED")
    root = Path(env) if env else REPO.parent / "shared"
    return root if (root / "data").is_dir() else None


@pytest.fixture(scope="session")
def shared() -> Path:
    """Path to shared/ (skips the test when it is absent)."""
    root = shared_root()
    if root is None:
        pytest.skip("shared data not found (set POSELIVE_SHARED)")
    return root


@pytest.fixture(scope="session")
def teachers(shared) -> Path:
    """Folder with the teacher ONNX models (skips when absent)."""
    d = shared / "data" / "teachers"
    if not (d / "rtmdet-nano-person.onnx").is_file():
        pytest.skip("teacher models not found in shared/data/teachers")
    return d


@pytest.fixture(autouse=True)
def _gui_settings_file(tmp_path, monkeypatch):
    """The GUI remembers its settings; tests keep theirs apart from the user's and each other's."""
    monkeypatch.setenv("POSELIVE_GUI_SETTINGS", str(tmp_path / "gui-settings.ini"))
