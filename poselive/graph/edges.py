"""Bounded queues between graph threads, with a drop policy per edge."""

from __future__ import annotations

import enum
import threading
from collections import deque
from typing import Any

from poselive.errors import ConfigError


class EdgePolicy(str, enum.Enum):
    """What an edge does when its queue is full."""

    LATEST = "latest"  # keep the newest: drop the oldest queued packet and count it
    LOSSLESS = "lossless"  # block the producer until there is room; never drop

    @classmethod
    def parse(cls, value: "EdgePolicy | str") -> "EdgePolicy":
        """An EdgePolicy from itself or from its name ("latest" / "lossless")."""
        if isinstance(value, EdgePolicy):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ConfigError(
                f"unknown edge policy {value!r}; use 'latest' (live) or 'lossless' (files)"
            ) from None


class _EndOfStream:
    """Marker returned by Edge.get() when nothing more will arrive."""

    def __repr__(self) -> str:
        return "END"


END: Any = _EndOfStream()


class Edge:
    """A bounded FIFO from one producer thread to one consumer thread.

    ``close()`` means the producer is done: the consumer drains what is queued, then gets
    ``END``. ``abort()`` discards what is queued and wakes both sides at once: producers'
    ``put`` returns False and consumers get ``END`` (used on errors and forced stops).
    """

    def __init__(self, name: str, policy: EdgePolicy | str, capacity: int) -> None:
        if capacity < 1:
            raise ConfigError(f"queue size must be at least 1, got {capacity}")
        self.name = name
        self.policy = EdgePolicy.parse(policy)
        self.capacity = int(capacity)
        self._items: deque[Any] = deque()
        # One condition for both sides: there is one producer and one consumer per edge,
        # so notify_all wakes at most two threads.
        self._cond = threading.Condition()
        self._closed = False
        self._aborted = False
        self.puts = 0
        self.drops = 0  # dropped by the "latest" policy
        self.discarded = 0  # thrown away by abort(), or refused by put() after it
        self.max_depth = 0

    def put(self, item: Any) -> bool:
        """Queue an item; False when the edge was aborted (the producer should stop)."""
        with self._cond:
            if self.policy is EdgePolicy.LOSSLESS:
                while len(self._items) >= self.capacity and not self._aborted:
                    self._cond.wait()
            if self._aborted:
                self.discarded += 1
                return False
            if len(self._items) >= self.capacity:  # only reachable under LATEST
                self._items.popleft()
                self.drops += 1
            self._items.append(item)
            self.puts += 1
            if len(self._items) > self.max_depth:
                self.max_depth = len(self._items)
            self._cond.notify_all()
            return True

    def get(self) -> Any:
        """The oldest queued item, blocking; END once closed and drained, or aborted."""
        with self._cond:
            while not self._items and not self._closed and not self._aborted:
                self._cond.wait()
            if self._aborted or not self._items:
                return END
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """The producer will put nothing more; the consumer ends after draining."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def abort(self) -> None:
        """Discard queued items and release both sides immediately."""
        with self._cond:
            self._aborted = True
            self.discarded += len(self._items)
            self._items.clear()
            self._cond.notify_all()

    @property
    def depth(self) -> int:
        """Items queued right now."""
        return len(self._items)

    def counters(self) -> tuple[int, int, int, int]:
        """A consistent (depth, max_depth, drops, discarded) snapshot."""
        with self._cond:
            return len(self._items), self.max_depth, self.drops, self.discarded
