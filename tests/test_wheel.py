"""poselive installed from its wheel, as a new user gets it: a fresh virtual environment,
the runtime dependencies from the wheel's own metadata (no torch), run from another folder
with the models and sample clip that the wheel ships."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

# pip output that means "no package index here", not "the wheel is wrong".
OFFLINE = re.compile(r"No matching distribution|Could not find a version|NewConnectionError|"
                     r"Temporary failure in name resolution|Network is unreachable", re.I)


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POSELIVE_SHARED", "VIRTUAL_ENV")}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv with poselive installed from a freshly built wheel; returns its bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    r = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
              str(root / "dist"), str(REPO)], cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    wheels = list((root / "dist").glob("poselive-*.whl"))
    assert len(wheels) == 1
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    for must in ("poselive/assets/sample.mp4", "poselive/assets/poselive-det-nano.onnx"):
        assert must in names, f"{must} is not in the wheel"
    assert not [n for n in names if n.endswith((".pt", ".pth"))], "checkpoints belong outside the wheel"
    venv = root / "venv"
    r = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    # The outer pip installs into the venv; the dependencies come from the wheel's metadata.
    r = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--disable-pip-version-check",
              "-c", str(REPO / "constraints.txt"), str(wheels[0])], cwd=root, timeout=600)
    if r.returncode != 0 and OFFLINE.search(r.stdout + r.stderr):
        pytest.skip("no package index reachable to install the runtime dependencies from")
    assert r.returncode == 0, r.stdout + r.stderr
    return venv / "bin"


def test_wheel_runs_the_main_job_without_torch(installed, tmp_path):
    r = _run([str(installed / "python"), "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
             cwd=tmp_path)
    assert r.stdout.strip() == "None", "the runtime install pulled in torch"
    r = _run([str(installed / "poselive"), "process", "sample", "--json", "p.jsonl", "--max-frames", "6"],
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    header, frames = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert len(frames) == 6 and sum(len(f["persons"]) for f in frames) > 0
    assert "site-packages" in header["models"]["pose"]  # the packaged model, not a source tree
    assert "[ WARN" not in r.stderr and "Traceback" not in r.stderr


def test_wheel_model_info_and_version(installed, tmp_path):
    r = _run([str(installed / "poselive"), "model-info", "fast"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "heatmaps" in r.stdout and "site-packages" in r.stdout
    r = _run([str(installed / "poselive"), "--version"], cwd=tmp_path)
    assert r.returncode == 0
    from poselive import __version__

    assert r.stdout.startswith(f"poselive {__version__}")
    for piece in ("ONNX Runtime", "PyAV", "OpenCV"):
        assert piece in r.stdout
    assert "torch" not in r.stdout
