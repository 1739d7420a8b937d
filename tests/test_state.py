"""The in-process state store: counters, epochs, and retried request ids."""

from __future__ import annotations

import time

from botify.state import InMemoryStore


class TestInMemoryStore:
    def test_counters_advance_per_request_and_session(self) -> None:
        store = InMemoryStore()
        assert [store.next_step(1)[:2] for _ in range(3)] == [(0, 0), (0, 1), (0, 2)]
        assert store.end_session(1)[:2] == (0, 3) and store.next_step(1)[:2] == (1, 0)
        assert store.next_step(2).epoch == store.epoch is not None

    def test_a_retry_replays_its_counters_and_the_state_it_found(self) -> None:
        store = InMemoryStore()
        store.next_step(5, "a")
        store.put_state(5, b"after a")
        first = store.next_step(5, "b")
        assert store.get_state(5) == b"after a"
        store.put_state(5, b"after b")
        retry = store.next_step(5, "b")
        assert retry[:2] == first[:2] == (0, 1) and retry.retry and not first.retry
        assert store.get_state(5) == b"after a"      # as the first attempt saw it: the same answer follows
        assert store.next_step(5, "c")[:2] == (0, 2) and store.get_state(5) == b"after b"
        assert store.end_session(5, "d")[:2] == (0, 3) and store.end_session(5, "d").retry
        assert store.next_step(5)[:2] == (1, 0)

    def test_request_ids_are_forgotten_after_their_ttl(self) -> None:
        store = InMemoryStore(request_ttl=0.05)
        store.next_step(1, "x")
        time.sleep(0.06)
        store.next_step(1, "y")                       # starts a new generation; "x" is still remembered
        assert store.next_step(1, "x").retry
        time.sleep(0.06)
        store.next_step(1, "z")
        time.sleep(0.06)
        assert not store.next_step(1, "x").retry      # two generations later: a new request

    def test_counters_of_one_worker_among_several_are_not_exact(self) -> None:
        assert InMemoryStore(exact=False).next_step(1).epoch is None
