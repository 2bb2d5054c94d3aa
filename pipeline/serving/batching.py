"""Micro-batching: concurrent requests are decided in one engine call and recorded in one transaction.

A request (a list of applicants) waits in a queue. The gatherer takes the first one waiting and whatever else arrives
within `max_wait_s`, up to `max_items` applicants (a request is never split over batches; one larger than
`max_items` is a batch of its own), and hands the batch to the engine in a worker thread, so the event loop keeps
accepting requests meanwhile. Decided batches go, in order, to a second worker thread that appends them to the
decision record in one transaction each; only then are the requests answered. The two stages overlap: while batch N
is being committed (an fsync), batch N+1 is being scored. Under load the queue fills while the engine works, so
batches grow with the load: throughput rises where one call per request would queue up.

One bad request must not fail the others: requests are validated before they are queued (the app does it), and when
an engine call fails anyway, each of its requests is decided again on its own, so the error reaches only the request
that caused it. A failed transaction records nothing of its batch (all or none), and each of its requests gets the
error. Nothing here looks at an applicant's values, let alone logs them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, List, Sequence

from pipeline.serving.metrics import ServiceMetrics

log = logging.getLogger("glassbox.serve")


class OverloadedError(RuntimeError):
    """More applicants are waiting than the service queues: the client should retry later (503)."""


class ClosedError(RuntimeError):
    """The service is shutting down and takes no new requests (503)."""


class RecordError(RuntimeError):
    """The decision record did not take a batch: nothing of it was recorded (503). `cause` is the store's error."""

    def __init__(self, cause: BaseException):
        self.cause = cause
        super().__init__(f"the decision record could not be written ({type(cause).__name__})")


@dataclass
class _Request:
    items: Sequence[Any]
    future: asyncio.Future
    outcome: Any = field(default=None)  # the engine's results for the items, or the exception it raised


def _where(error: BaseException) -> str:
    """An error's type and the code it came from, without its message: an engine's message could quote a value."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    return f"{type(error).__name__} at " + " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}"
                                                       for f in reversed(frames))


class MicroBatcher:
    """`decide(items) -> results` (the engine; one result per item, in order) and `record(results) -> responses` (the
    store; one response per result, returned once durable) run in worker threads, one call at a time each. `submit`
    returns a request's responses, or raises what its own items caused: the engine's error, RecordError,
    OverloadedError, ClosedError."""

    def __init__(self, decide: Callable[[List[Any]], List[Any]], record: Callable[[List[Any]], List[Any]], *,
                 max_items: int = 64, max_wait_s: float = 0.0, max_pending_items: int = 4096,
                 metrics: ServiceMetrics | None = None):
        self._decide, self._record = decide, record
        self.max_items, self.max_wait_s, self.max_pending_items = max_items, max_wait_s, max_pending_items
        self.metrics = metrics or ServiceMetrics()
        self._pending_items = 0
        self._tasks: List[asyncio.Task] = []
        self._closed = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[_Request | None] = asyncio.Queue()
        self._arrived = asyncio.Event()
        # Bounded: the engine runs at most two batches ahead of the record.
        self._decided: asyncio.Queue[List[_Request] | None] = asyncio.Queue(maxsize=2)
        self._carry: _Request | None = None
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="glassbox-engine")
        self._record_thread = ThreadPoolExecutor(1, thread_name_prefix="glassbox-record")
        self._tasks = [asyncio.create_task(self._decide_loop(), name="glassbox-decide"),
                       asyncio.create_task(self._record_loop(), name="glassbox-record")]

    async def submit(self, items: Sequence[Any]) -> List[Any]:
        if self._closed:
            raise ClosedError("the service is shutting down")
        if self._pending_items + len(items) > self.max_pending_items and self._pending_items:
            raise OverloadedError(f"{self._pending_items} applicants are waiting to be decided")
        request = _Request(list(items), self._loop.create_future())
        self._pending_items += len(items)
        try:
            self._queue.put_nowait(request)
            self._arrived.set()
            # shield: a client that goes away must not cancel the batch its request is part of
            return await asyncio.shield(request.future)
        finally:
            self._pending_items -= len(items)

    async def close(self) -> None:
        """Decides and records everything already queued, then stops the workers."""
        if self._closed:
            return
        self._closed = True
        if self._tasks:
            self._queue.put_nowait(None)
            self._arrived.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._engine_thread.shutdown(wait=True)
            self._record_thread.shutdown(wait=True)

    # -- the gatherer and the engine's stage -------------------------------------------------------------------------

    async def _gather(self) -> List[_Request] | None:
        first = self._carry or await self._queue.get()
        self._carry = None
        if first is None:
            return None
        batch, count = [first], len(first.items)
        deadline = self._loop.time() + self.max_wait_s
        while count < self.max_items:
            try:
                following = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except asyncio.TimeoutError:
                    break
                continue
            if following is None:  # closing: this batch is the last; the next _gather sees the end again
                self._queue.put_nowait(None)
                break
            if count + len(following.items) > self.max_items:
                self._carry = following  # the next batch starts with it
                break
            batch.append(following)
            count += len(following.items)
        return batch

    async def _decide_loop(self) -> None:
        try:
            while True:
                batch = await self._gather()
                if batch is None:
                    return
                await self._loop.run_in_executor(self._engine_thread, self._decide_batch, batch)
                await self._decided.put(batch)
        finally:
            await self._decided.put(None)

    def _call_engine(self, items: List[Any], requests: int) -> List[Any]:
        started = time.perf_counter()
        self.metrics.engine_calls.inc()
        self.metrics.batch_items.observe(len(items))
        self.metrics.batch_requests.observe(requests)
        try:
            results = self._decide(items)
        finally:
            self.metrics.engine_seconds.observe(time.perf_counter() - started)
        if len(results) != len(items):
            raise RuntimeError(f"the engine returned {len(results)} decisions for {len(items)} applicants")
        return results

    def _decide_batch(self, batch: List[_Request]) -> None:
        """Sets each request's outcome: its results, or the error its own items caused."""
        items = [item for request in batch for item in request.items]
        try:
            results = self._call_engine(items, len(batch))
        except Exception as error:  # noqa: BLE001 - whichever request caused it gets it, alone
            if len(batch) == 1:
                batch[0].outcome = error
                self.metrics.failures.inc("decide")
                log.warning("an engine call failed: %s", _where(error))
                return
            for request in batch:  # split: each request on its own, so that one bad request fails alone
                try:
                    request.outcome = self._call_engine(list(request.items), 1)
                except Exception as own:  # noqa: BLE001
                    request.outcome = own
                    self.metrics.failures.inc("decide")
                    log.warning("an engine call failed: %s", _where(own))
            return
        start = 0
        for request in batch:
            request.outcome = results[start:start + len(request.items)]
            start += len(request.items)

    # -- the record's stage ------------------------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            batch = await self._decided.get()
            if batch is None:
                return
            decided = [r for r in batch if not isinstance(r.outcome, BaseException)]
            for request in batch:
                if isinstance(request.outcome, BaseException):
                    _settle(request, error=request.outcome)
            if not decided:
                continue
            results = [result for request in decided for result in request.outcome]
            try:
                responses = await self._loop.run_in_executor(self._record_thread, self._record_batch, results)
            except Exception as error:  # noqa: BLE001 - every request of the batch learns that nothing was recorded
                self.metrics.failures.inc("record")
                log.error("a decision record transaction failed: %s", _where(error))
                for request in decided:
                    _settle(request, error=RecordError(error))
                continue
            start = 0
            for request in decided:
                _settle(request, result=responses[start:start + len(request.items)])
                start += len(request.items)

    def _record_batch(self, results: List[Any]) -> List[Any]:
        started = time.perf_counter()
        try:
            responses = self._record(results)
        finally:
            self.metrics.append_seconds.observe(time.perf_counter() - started)
        if len(responses) != len(results):
            raise RuntimeError(f"the record returned {len(responses)} entries for {len(results)} decisions")
        return responses


def _settle(request: _Request, result: Any = None, error: BaseException | None = None) -> None:
    if request.future.done():  # cancelled: nobody waits for it any more (its decisions were recorded all the same)
        return
    if error is not None:
        request.future.set_exception(error)
    else:
        request.future.set_result(result)
