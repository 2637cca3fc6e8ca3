"""Ctrl-C and SIGTERM from the first instant of a command, and never swallowed.

``install()`` points SIGINT and SIGTERM at a handler that records the signal and raises
``Interrupted`` (a KeyboardInterrupt). The record matters because an interrupt that lands
inside a library can come out as something else: an interrupt during the import of a
compiled extension surfaces as ``ImportError``, which a ``try: import x / except
ImportError`` fallback would otherwise swallow. ``reraise_interrupt(exc)`` is called by
every such handler in poselive, engines and trainer, and the apps check ``pending()``
before they start real work. Standard library only: it is imported first.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_pending: list[int] = []  # the first signal received by the gate's handler


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        """128 + the signal number: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


def _handler(signum: int, frame: Any) -> None:
    if not _pending:
        _pending.append(int(signum))
    raise Interrupted(signum)


def install() -> dict[int, Any]:
    """Handle SIGINT and SIGTERM by raising Interrupted (main thread only); returns the
    handlers it replaced, for ``restore``."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _pending.clear()  # a new command: an earlier command's signal is not this one's
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, _handler)
    return previous


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers ``install`` replaced (a command run in-process, e.g. by tests)."""
    for sig, handler in previous.items():
        if handler is not None:
            signal.signal(sig, handler)


def pending() -> int | None:
    """The signal the gate received (even one a library swallowed), or None."""
    return _pending[0] if _pending else None


def clear() -> None:
    """Forget a received signal (tests)."""
    _pending.clear()


def check() -> None:
    """Raise Interrupted if a signal arrived, even if what it raised was swallowed."""
    if _pending:
        raise Interrupted(_pending[0])


def reraise_interrupt(exc: BaseException) -> None:
    """Re-raise the interrupt hidden in ``exc`` (its cause/context chain), or one the gate
    recorded; return quietly otherwise. Call it first in every ``except ImportError`` or
    broad ``except`` that does not re-raise."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            raise e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    if threading.current_thread() is threading.main_thread():
        check()  # signals reach the main thread only


def exit_code(exc: BaseException) -> int | None:
    """For an exception that ends a command: 130 / 143 (after printing one line) when a
    signal caused it, whatever it turned into on the way; None otherwise."""
    import sys

    signum = pending()
    if signum is None and isinstance(exc, KeyboardInterrupt):
        signum = getattr(exc, "signum", signal.SIGINT)
    if signum is None:
        return None
    print(f"poselive: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
    return 128 + int(signum)
