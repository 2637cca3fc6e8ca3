"""One options module for every app: help and default on every flag, one meaning per flag,
shipped model names and the sample clip resolved through package data."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from poselive import assets
from poselive.apps import options
from poselive.apps.cli import make_parser
from poselive.errors import ModelError

REPO = Path(__file__).resolve().parents[2]


def _run_live_parser() -> argparse.ArgumentParser:
    spec = importlib.util.spec_from_file_location("run_live", REPO / "run_live.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    captured = {}

    class Stop(Exception):
        pass

    def grab(self, *a, **k):
        captured["p"] = self
        raise Stop

    orig = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = grab
    try:
        with pytest.raises(Stop):
            mod.main([])
    finally:
        argparse.ArgumentParser.parse_args = orig
    return captured["p"]


def _parsers() -> dict[str, argparse.ArgumentParser]:
    top = make_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    out = {f"poselive {name}": p for name, p in sub.choices.items() if name != "label"}
    out["run_live.py"] = _run_live_parser()
    return out


def test_every_flag_has_help_and_shows_its_default():
    for prog, p in _parsers().items():
        fmt = options.HelpFormatter(prog)
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction,)) or not action.option_strings:
                continue
            text = fmt._get_help_string(action)
            assert action.help, f"{prog} {action.option_strings[0]} has no help text"
            assert "default" in text.lower() or "(required)" in text, f"{prog} {action.option_strings[0]} does not show its default"


def test_a_shared_flag_means_the_same_in_every_app():
    parsers = _parsers()
    apps = ["poselive process", "poselive bench", "run_live.py"]
    for name in options.MODEL_FLAGS + options.TRACK_FLAGS + options.RTSP_FLAGS + options.LOG_FLAGS:
        opt = options.FLAGS[name][0][-1]
        seen = {}
        for prog in apps:
            action = next(a for a in parsers[prog]._actions if opt in a.option_strings)
            seen[prog] = (action.help, action.default, action.dest)
        assert len(set(seen.values())) == 1, f"{opt} differs between apps: {seen}"


def test_help_output_shows_defaults():
    r = subprocess.run([sys.executable, "-m", "poselive", "process", "--help"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    flat = " ".join(r.stdout.split())
    for flag in ("--max-frames N stop after N frames (default: the whole source)",
                 "--backend {auto,onnxruntime,torch,tensorrt}", "(default: auto)", "(default: 0.3)"):
        assert flag in flat


def test_shipped_names_and_aliases_resolve_to_package_data():
    det = assets.resolve_model(None, "det")
    pose = assets.resolve_model("fast", "pose")
    assert det.parent == assets.asset_dir() and det.is_file() and det.name == assets.MODELS["poselive-det-nano"].file
    assert pose == assets.resolve_model(assets.ALIASES["fast"], "pose") == assets.default_model("pose")
    assert assets.resolve_model("some/file.onnx", "pose") == Path("some/file.onnx")
    assert options.parse_source("sample") == str(assets.sample_path())
    assert options.parse_source("0") == 0
    # never the source tree: the files are found inside the installed package
    assert assets.asset_dir() == Path(assets.__file__).parent


def test_a_missing_shipped_model_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(assets.MODELS, "poselive-pose-x", assets.ShippedModel(
        "poselive-pose-x", "poselive-pose-x.onnx", "pose", "poselive-pose-x.md", "absent"))
    monkeypatch.setitem(assets.ALIASES, "xx", "poselive-pose-x")
    with pytest.raises(ModelError) as err:
        assets.resolve_model("xx", "pose")
    msg = str(err.value)
    assert "\n" not in msg and "poselive-pose-x" in msg and "--pose PATH" in msg


def test_every_table_entry_is_installed_or_fails_clearly():
    r = subprocess.run([sys.executable, "-m", "poselive", "model-info"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    for name, m in assets.MODELS.items():
        assert name in r.stdout
        path = assets.asset_dir() / m.file
        if not path.is_file():
            with pytest.raises(ModelError, match="not installed"):
                assets.model_path(name)
