"""The micro-batcher (pipeline/serving/batching.py) with a small engine-like object and a real decision store: batches
form under concurrency, requests get their own results in order, one bad request fails alone, a failed transaction
records nothing, the event loop keeps running while the engine works, and closing drains the queue."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from pipeline.serving.batching import ClosedError, MicroBatcher, OverloadedError, RecordError
from pipeline.serving.metrics import ServiceMetrics
from pipeline.serving.store import open_store
from tests.unit.serving.test_store import MODEL_SHA


class Scorer:
    """Engine-like: scores x / 10, refuses an item whose x is negative (as a contract check would), records the size
    of each call and the thread it ran in, and takes `seconds` per call (blocking, as a model call does)."""

    def __init__(self, seconds: float = 0.0):
        self.calls: list[int] = []
        self.threads: set[str] = set()
        self.seconds = seconds

    def decide(self, items):
        self.calls.append(len(items))
        self.threads.add(threading.current_thread().name)
        if any(item["x"] < 0 for item in items):
            raise ValueError("x must not be negative")
        time.sleep(self.seconds)
        return [{"score": item["x"] / 10, "decision": "approve" if item["x"] >= 5 else "decline", "inputs": item,
                 "model": {"artifact_id": 7, "sha256": MODEL_SHA}} for item in items]


def recorder(store):
    def record(decisions):
        return [{"decision_id": r.id, **r.payload} for r in store.append(decisions)]
    return record


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "decisions.sqlite", create=True) as store:
        yield store


def run(coroutine):
    return asyncio.run(coroutine)


async def _with_batcher(batcher: MicroBatcher, work):
    await batcher.start()
    try:
        return await work(batcher)
    finally:
        await batcher.close()


def test_concurrent_requests_are_decided_together_and_answered_in_their_own_order(store):
    scorer = Scorer(seconds=0.02)
    metrics = ServiceMetrics()
    batcher = MicroBatcher(scorer.decide, recorder(store), max_items=64, max_wait_s=0.005, metrics=metrics)
    requests = [[{"x": (i + j) % 10} for j in range(1 + i % 3)] for i in range(48)]

    async def work(batcher):
        return await asyncio.gather(*(batcher.submit(items) for items in requests))

    answers = run(_with_batcher(batcher, work))
    assert len(scorer.calls) < len(requests) // 4, scorer.calls  # a handful of calls, not one per request
    assert max(scorer.calls) <= 64 and sum(scorer.calls) == sum(map(len, requests))
    for items, answer in zip(requests, answers):
        assert [a["inputs"] for a in answer] == items
    ids = [a["decision_id"] for answer in answers for a in answer]
    assert len(set(ids)) == len(ids) == store.head()[0] == sum(map(len, requests))
    assert metrics.engine_calls.value() == len(scorer.calls)
    assert metrics.batch_items.count() == len(scorer.calls)
    assert store.verify() == []


def test_the_engine_runs_off_the_event_loop(store):
    """While the engine blocks for 300 ms, the loop goes on: a ticker keeps ticking."""
    scorer = Scorer(seconds=0.3)
    batcher = MicroBatcher(scorer.decide, recorder(store), max_wait_s=0)
    ticks = []

    async def work(batcher):
        async def ticker():
            for _ in range(10):
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        answer, _ = await asyncio.gather(batcher.submit([{"x": 1}]), ticker())
        return answer

    started = time.perf_counter()
    run(_with_batcher(batcher, work))
    assert len(ticks) == 10 and ticks[-1] - started < 0.25
    assert scorer.threads and all(name.startswith("glassbox-engine") for name in scorer.threads)


def test_a_bad_request_fails_alone_and_nothing_of_it_is_recorded(store):
    scorer = Scorer(seconds=0.01)
    metrics = ServiceMetrics()
    batcher = MicroBatcher(scorer.decide, recorder(store), max_wait_s=0.02, metrics=metrics)

    async def work(batcher):
        return await asyncio.gather(*(batcher.submit([{"x": 3}, {"x": -1 if i == 5 else 8}]) for i in range(10)),
                                    return_exceptions=True)

    answers = run(_with_batcher(batcher, work))
    assert isinstance(answers[5], ValueError) and "negative" in str(answers[5])
    assert all(isinstance(a, list) and len(a) == 2 for n, a in enumerate(answers) if n != 5)
    assert store.head()[0] == 18  # the nine good requests' decisions, none of the bad one's
    assert scorer.calls[0] == 20 and metrics.failures.value("decide") == 1


def test_a_failed_transaction_fails_its_requests_and_records_nothing(store):
    calls = []

    def record(decisions):
        calls.append(len(decisions))
        if len(calls) == 1:
            raise OSError("disk full")
        return recorder(store)(decisions)

    metrics = ServiceMetrics()
    batcher = MicroBatcher(Scorer().decide, record, max_wait_s=0.02, metrics=metrics)

    async def work(batcher):
        first = await asyncio.gather(*(batcher.submit([{"x": i}]) for i in range(4)), return_exceptions=True)
        second = await batcher.submit([{"x": 9}])
        return first, second

    first, second = run(_with_batcher(batcher, work))
    assert all(isinstance(a, RecordError) and "OSError" in str(a) for a in first)
    assert len(second) == 1 and store.head()[0] == 1 and metrics.failures.value("record") == 1


def test_batches_hold_at_most_max_items_and_a_larger_request_is_a_batch_of_its_own(store):
    scorer = Scorer(seconds=0.01)
    batcher = MicroBatcher(scorer.decide, recorder(store), max_items=8, max_wait_s=0.01)

    async def work(batcher):
        return await asyncio.gather(*(batcher.submit([{"x": 1}] * n) for n in (3, 3, 3, 20, 3, 1)))

    answers = run(_with_batcher(batcher, work))
    assert [len(a) for a in answers] == [3, 3, 3, 20, 3, 1]
    assert 20 in scorer.calls and all(n <= 8 for n in scorer.calls if n != 20)


def test_closing_decides_what_was_queued_then_refuses(store):
    scorer = Scorer(seconds=0.05)
    batcher = MicroBatcher(scorer.decide, recorder(store), max_items=2, max_wait_s=0)

    async def work():
        await batcher.start()
        pending = [asyncio.create_task(batcher.submit([{"x": i}])) for i in range(6)]
        await asyncio.sleep(0.01)
        await batcher.close()
        answers = await asyncio.gather(*pending)
        with pytest.raises(ClosedError):
            await batcher.submit([{"x": 1}])
        return answers

    answers = run(work())
    assert [a[0]["inputs"]["x"] for a in answers] == list(range(6)) and store.head()[0] == 6


def test_too_many_waiting_applicants_are_refused(store):
    batcher = MicroBatcher(Scorer(seconds=0.05).decide, recorder(store), max_items=4, max_wait_s=0,
                           max_pending_items=10)

    async def work(batcher):
        return await asyncio.gather(*(batcher.submit([{"x": 1}] * 4) for _ in range(4)), return_exceptions=True)

    answers = run(_with_batcher(batcher, work))
    assert sum(isinstance(a, OverloadedError) for a in answers) == 2 and store.head()[0] == 8
