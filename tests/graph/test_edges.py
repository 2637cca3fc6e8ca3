"""Edge: the bounded queue between two graph threads."""

from __future__ import annotations

import threading
import time

import pytest

from poselive.errors import ConfigError
from poselive.graph import Edge, EdgePolicy
from poselive.graph.edges import END


def test_latest_keeps_newest_and_counts_drops() -> None:
    e = Edge("a->b", "latest", 3)
    for i in range(10):
        assert e.put(i)
    assert e.drops == 7 and e.depth == 3 and e.max_depth == 3
    e.close()
    assert [e.get() for _ in range(4)] == [7, 8, 9, END]


def test_lossless_blocks_producer_until_consumer_takes() -> None:
    e = Edge("a->b", EdgePolicy.LOSSLESS, 2)
    put_done = threading.Event()

    def producer() -> None:
        for i in range(3):
            e.put(i)
        put_done.set()

    t = threading.Thread(target=producer, daemon=True)
    t.start()
    # the third put cannot complete while two items wait
    assert not put_done.wait(0.2)
    assert e.depth == 2
    assert e.get() == 0
    assert put_done.wait(2.0)
    t.join(2.0)
    e.close()
    assert [e.get(), e.get(), e.get()] == [1, 2, END]
    assert e.drops == 0


def test_abort_releases_blocked_producer_and_consumer() -> None:
    full = Edge("a->b", "lossless", 1)
    full.put("x")
    results: list[object] = []
    t = threading.Thread(target=lambda: results.append(full.put("y")), daemon=True)
    t.start()
    time.sleep(0.05)
    empty = Edge("b->c", "lossless", 1)
    t2 = threading.Thread(target=lambda: results.append(empty.get()), daemon=True)
    t2.start()
    time.sleep(0.05)
    full.abort()
    empty.abort()
    t.join(2.0)
    t2.join(2.0)
    assert not t.is_alive() and not t2.is_alive()
    assert sorted(map(repr, results)) == ["END", "False"]
    assert full.discarded == 2 and full.get() is END  # the queued one and the refused one


def test_bad_policy_and_size_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="lossless"):
        Edge("a->b", "newest", 2)
    with pytest.raises(ConfigError):
        Edge("a->b", "latest", 0)
