"""Static check: no `except ImportError` or broad `except` can swallow Ctrl-C.

An interrupt that lands while a compiled extension is imported surfaces as ImportError
(pybind11 turns it into "initialization failed"), so a `try: import x / except
ImportError: fallback` would carry on as if nothing happened. Every handler that catches
ImportError, Exception, BaseException (or everything) in poselive/, engines/ and trainer/
must either re-raise (a `raise` as its last statement), call
`poselive.interrupts.reraise_interrupt(...)` as its first statement, or hand the
exception itself on to code that raises it later (the graph's `self._fail(name, exc)`,
which `run()` raises as StageError; a reader thread's `self.error = exc`, which the
consumer raises).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("poselive", "engines", "trainer")
RISKY = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _names(node: ast.expr | None) -> set[str]:
    if node is None:
        return {"BaseException"}  # a bare except
    if isinstance(node, ast.Tuple):
        return set().union(*(_names(e) for e in node.elts))
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return set()


def _forwards(handler: ast.ExceptHandler) -> bool:
    """The handler passes the caught exception object on: ``self._fail(..., exc)`` or
    ``self.error = exc``."""
    name = handler.name
    if name is None:
        return False
    for node in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_fail"
                and any(isinstance(a, ast.Name) and a.id == name for a in node.args)):
            return True
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == name
                and all(isinstance(t, ast.Attribute) and t.attr == "error" for t in node.targets)):
            return True
    return False


def _safe(handler: ast.ExceptHandler) -> bool:
    body = handler.body
    if body and isinstance(body[-1], ast.Raise):
        return True
    if _forwards(handler):
        return True
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Call):
        fn = first.value.func
        name = fn.id if isinstance(fn, ast.Name) else getattr(fn, "attr", "")
        return name == "reraise_interrupt"
    return False


def violations(root: Path = REPO) -> list[str]:
    """``file:line`` of every risky handler that neither re-raises nor checks for an interrupt."""
    found = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ExceptHandler) and _names(node.type) & RISKY and not _safe(node):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_handler_swallows_keyboard_interrupt() -> None:
    bad = violations()
    assert not bad, "these handlers may swallow Ctrl-C; call reraise_interrupt(exc) first:\n" + "\n".join(bad)


def test_the_scan_finds_a_swallowing_handler(tmp_path: Path) -> None:
    # The check itself must be able to fail.
    pkg = tmp_path / "poselive"
    pkg.mkdir()
    (tmp_path / "engines").mkdir()
    (tmp_path / "trainer").mkdir()
    (pkg / "bad.py").write_text("try:\n    import scipy\nexcept ImportError:\n    scipy = None\n")
    (pkg / "good.py").write_text(
        "from poselive.interrupts import reraise_interrupt\n"
        "try:\n    import scipy\nexcept ImportError as exc:\n    reraise_interrupt(exc)\n    scipy = None\n"
        "try:\n    import numpy\nexcept Exception:\n    raise\n"
    )
    assert violations(tmp_path) == ["poselive/bad.py:3"]


def test_reraise_interrupt_finds_the_interrupt_inside_an_import_error() -> None:
    from poselive.interrupts import reraise_interrupt

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise ImportError("initialization failed") from ki
    except ImportError as exc:
        with pytest.raises(KeyboardInterrupt):
            reraise_interrupt(exc)
    reraise_interrupt(ImportError("no module named x"))  # a real ImportError passes
