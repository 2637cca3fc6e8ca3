"""Every command in the README runs as written (from the repository root, as after the
README's install command), with a small frame limit where it processes video.

A command that needs what a test machine lacks (a camera, a display, a fresh environment,
a long run) carries a ``# needs: …`` comment and is skipped with that reason; ``# needs:
shared …`` runs when the shared data is there."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MAX_FRAMES = "3"
# pip output that means "no package index here", not "the command is wrong".
OFFLINE = re.compile(r"No matching distribution|Could not find a version|NewConnectionError|"
                     r"Temporary failure in name resolution|Network is unreachable", re.I)


def readme_commands(text: str) -> list[tuple[str, str | None]]:
    """(command, needs) for each command line of the README's ```bash blocks; backslash
    continuations joined, ``# needs: X`` split off."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            needs = None
            m = re.search(r"\s#\s*needs:\s*(.+)$", line)
            if m:
                needs, line = m.group(1).strip(), line[:m.start()].rstrip()
            out.append((line, needs))
    return out


def as_run(command: str) -> list[str]:
    """The argv to run: ``poselive`` and ``python3`` as this interpreter, and a small frame
    limit on commands that process video."""
    argv = shlex.split(command)
    if argv[0] == "poselive":
        argv = [sys.executable, "-m", "poselive", *argv[1:]]
    elif argv[0] in ("python", "python3"):
        argv = [sys.executable, *argv[1:]]
    if len(argv) > 3 and argv[3] in ("process", "bench") and "--model-only" not in argv:
        if "--max-frames" in argv:
            argv[argv.index("--max-frames") + 1] = MAX_FRAMES
        else:
            argv += ["--max-frames", MAX_FRAMES]
    return argv


COMMANDS = readme_commands(README.read_text())


def test_the_readme_has_commands_to_run():
    runnable = [c for c, needs in COMMANDS if needs is None]
    assert len(runnable) >= 5
    assert any(c.startswith("poselive process sample") for c in runnable)
    assert any(c.startswith("poselive report") for c in runnable)


@pytest.mark.slow
@pytest.mark.parametrize("command,needs", COMMANDS, ids=[c[:60] for c, _ in COMMANDS])
def test_readme_command_runs(command, needs, request):
    argv = as_run(command)
    if needs is not None:
        if not needs.startswith("shared"):
            pytest.skip(f"needs: {needs}")
        # The README's ../shared is beside the clone; use the data this machine has.
        shared = request.getfixturevalue("shared")  # skips when absent
        argv = [a.replace("../shared", str(shared)) for a in argv]
    env = dict(os.environ)
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0 and " pip " in f" {command} " and OFFLINE.search(r.stdout + r.stderr):
        pytest.skip("no package index reachable for pip's build dependencies")
    assert r.returncode == 0, f"{command}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr
