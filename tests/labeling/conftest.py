"""Fixtures for the labelling tests: real teacher engines, opened once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def engines(teachers: Path) -> dict:
    """The three teacher models opened with ONNX Runtime (1 thread: the CPU is shared)."""
    from engines import open_engine

    return {name: open_engine(teachers / f"{name}.onnx", threads=1)
            for name in ("rtmdet-nano-person", "movenet-lightning", "movenet-thunder")}


@pytest.fixture(scope="session")
def adapters(engines: dict) -> dict:
    """Detector and pose adapters over the teacher engines."""
    from poselive.stages.adapters import build_detector_adapter, build_pose_adapter

    return {"det": build_detector_adapter(engines["rtmdet-nano-person"], score_threshold=0.2),
            "lightning": build_pose_adapter(engines["movenet-lightning"]),
            "thunder": build_pose_adapter(engines["movenet-thunder"])}
