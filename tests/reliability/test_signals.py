"""Ctrl-C and SIGTERM from the first instant: exit 130 / 143 with one line and no
traceback; outputs are either absent (stopped before the graph) or finalised and equal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from poselive import interrupts
from poselive.sinks import partial_path, read_jsonl


def _outcome(media, tmp_path, proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    out, js = tmp_path / "o.mp4", tmp_path / "o.jsonl"
    if out.exists() or js.exists():  # the graph had started: both finalised, the same frames
        assert out.exists() and js.exists(), err
        assert len(media.video_frames(out)) == len(read_jsonl(js)[1]), err
    else:  # stopped before the graph: one line, nothing left behind
        assert [ln for ln in err.splitlines() if ln.startswith("poselive:")] == [
            f"poselive: interrupted by {signal.Signals(proc.returncode - 128).name}"], err
    assert not list(tmp_path.glob("*.partial.*")), err
    return proc.returncode, err


def _wait_for_poselive_handlers(pid: int, timeout: float = 30.0) -> None:
    """Wait until the process catches SIGTERM, i.e. poselive's own code has started (the
    Python interpreter's start-up before it, ~30 ms, is outside any program's control)."""
    bit = 1 << (signal.SIGTERM - 1)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(int(ln.split()[1], 16) for ln in f if ln.startswith("SigCgt:"))
        except (OSError, StopIteration):
            return  # not Linux, or already gone
        if caught & bit:
            return
        time.sleep(0.002)


@pytest.mark.parametrize("sig,delay", [(signal.SIGINT, d) for d in (0.0, 0.1, 0.3, 0.6, 1.0)]
                         + [(signal.SIGTERM, d) for d in (0.0, 0.4, 0.9)])
def test_a_signal_at_any_early_moment(media, tmp_path, sig, delay):
    clip = media.write_clip(tmp_path / "c.mp4", n=250, size=(160, 120))
    proc = media.popen_cli("process", str(clip), "--out", str(tmp_path / "o.mp4"),
                           "--json", str(tmp_path / "o.jsonl"), "--quiet")
    _wait_for_poselive_handlers(proc.pid)
    time.sleep(delay)
    proc.send_signal(sig)
    code, err = _outcome(media, tmp_path, proc)
    assert code == 128 + sig, err


def test_double_ctrl_c_still_finalises_equal_outputs(media, tmp_path):
    clip = media.write_clip(tmp_path / "c.mp4", n=400, size=(160, 120))
    js = tmp_path / "o.jsonl"
    proc = media.popen_cli("process", str(clip), "--out", str(tmp_path / "o.mp4"), "--json", str(js), "--quiet")
    growing = partial_path(js)
    deadline = time.time() + 60
    while time.time() < deadline and (not growing.exists() or growing.read_text().count("\n") < 6):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.03)
    proc.send_signal(signal.SIGINT)
    code, err = _outcome(media, tmp_path, proc)
    assert code == 130, err
    assert js.exists() and len(read_jsonl(js)[1]) >= 5


def test_an_interrupt_swallowed_by_an_import_fallback_is_not_lost():
    """What pybind11 does to Ctrl-C during an extension's import, and a fallback that
    catches the ImportError: the gate still knows, and check() raises."""
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    interrupts.clear()
    try:
        interrupts.install()
        try:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1.0)  # the handler raises in here
            except KeyboardInterrupt as ki:
                raise ImportError("initialization failed") from ki
        except ImportError:
            pass  # a `try: import x / except ImportError: x = None` fallback
        assert interrupts.pending() == signal.SIGTERM
        with pytest.raises(interrupts.Interrupted) as info:
            interrupts.check()
        assert info.value.exit_code == 143
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        interrupts.clear()


def test_the_gate_is_installed_before_the_heavy_imports():
    # `python -m poselive` installs the handler before importing the CLI (and numpy, av, ...)
    src = (os.path.join(os.path.dirname(interrupts.__file__), "__main__.py"))
    text = open(src).read()
    assert text.index("interrupts.install()") < text.index("from poselive.apps.cli import main")
    r = subprocess.run([sys.executable, "-c",
                        "import signal\nfrom poselive import interrupts\ninterrupts.install()\n"
                        "print(signal.getsignal(signal.SIGTERM).__module__)"],
                       capture_output=True, text=True, env={**os.environ}, timeout=30)
    assert r.stdout.strip() == "poselive.interrupts"
