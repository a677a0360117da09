"""Single-decision requests that reach the event loop together are decided together.

Under concurrent load, several ``POST /v1/decisions`` requests are parsed in
the same turn of the event loop. Deciding them one by one repeats the fixed
cost of a decision — a transaction and its commit, the pipeline's numpy
calls — for each; deciding them as one small batch pays it once (the batch
pipeline costs little more for 8 customers than for 1). This is the
micro-batching of model servers (e.g. TensorFlow Serving's request batching),
with nothing held back: a group is decided on the loop's next turn, so a
lone request waits for no one.

Each group is one transaction committed before any of its responses is
sent, so caps and budgets count exactly as for one-at-a-time decisions and
nothing acknowledged is lost. Requests only share a group when they ask the
same way (time, trigger, context, dry run); a customer asked for twice goes
into a later group. A group that cannot be decided on the loop without
waiting (PostgreSQL, whose statements wait on the network; SQLite's write
lock taken: see :meth:`~nba.service.DecisionService.decide_now`) is
decided in a worker thread, still as one transaction. A group that fails is
handed back: each of its requests then goes through the worker thread on its
own, and gets its own result or its own error.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from nba.service import DecisionService

__all__ = ["DecisionGroups"]

#: At most this many decisions in one group (a transaction stays short).
MAX_GROUP = 64


@dataclass
class _Request:
    customer_id: str
    ask: dict[str, Any]  # now, trigger, context, dry_run
    key: tuple[Any, ...]  # the ask, hashable: requests with equal keys may share a group
    future: asyncio.Future[str | None]


@dataclass
class _Group:
    ask: dict[str, Any]
    requests: list[_Request] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class DecisionGroups:
    """Collects the single decisions of one event-loop turn and decides them in groups.

    Examples
    --------
    >>> import asyncio, tempfile
    >>> from nba.settings import Settings
    >>> d = tempfile.mkdtemp()
    >>> service = DecisionService(Settings(database_url=f"sqlite:///{d}/nba.db"),
    ...                           champion_lookup=False, learn_interval=0)
    >>> groups = DecisionGroups(service)
    >>> async def three():
    ...     return await asyncio.gather(*(groups.decide(c) for c in ("a", "b", "a")))
    >>> out = asyncio.run(three())
    >>> [json.loads(o)["customer_id"] for o in out], list(groups.sizes)
    (['a', 'b', 'a'], [2, 1])
    >>> service.stop()
    """

    def __init__(self, service: DecisionService) -> None:
        self.service = service
        self._pending: list[_Request] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        #: Sizes of the most recent 1,000 groups.
        self.sizes: deque[int] = deque(maxlen=1000)

    async def decide(
        self,
        customer_id: str,
        now: datetime | None = None,
        *,
        trigger: str | None = None,
        context: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> str | None:
        """The decision's JSON, or None when it must be decided in a worker thread."""
        loop = asyncio.get_running_loop()
        ask = {"now": now, "trigger": trigger, "context": context, "dry_run": dry_run}
        key = (now, trigger, json.dumps(context, sort_keys=True, default=str), dry_run)
        request = _Request(customer_id, ask, key, loop.create_future())
        self._pending.append(request)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(loop.call_soon, self._flush)
        return await request.future

    def _groups(self) -> list[_Group]:
        """The pending requests in groups: same key, distinct customers, in arrival order."""
        pending, self._pending, self._scheduled = self._pending, [], False
        groups: list[_Group] = []
        open_: dict[tuple[Any, ...], list[_Group]] = {}
        for request in pending:
            slots = open_.setdefault(request.key, [])
            group = next(
                (
                    g
                    for g in slots
                    if request.customer_id not in g.ids and len(g.requests) < MAX_GROUP
                ),
                None,
            )
            if group is None:
                group = _Group(request.ask)
                slots.append(group)
                groups.append(group)
            group.requests.append(request)
            group.ids.add(request.customer_id)
        return groups

    def _flush(self) -> None:
        for group in self._groups():
            requests = [r for r in group.requests if not r.future.cancelled()]
            if not requests:
                continue
            self.sizes.append(len(requests))
            ids = [r.customer_id for r in requests]
            try:
                done = self.service.decide_now(ids, **group.ask)
            except Exception:  # each request retries alone and gets its own error
                _settle(requests, None)
                continue
            if done is None:  # it would wait: in a worker thread, as one transaction
                task = asyncio.get_running_loop().create_task(
                    self._decide_in_thread(ids, group.ask, requests)
                )
                self._tasks.add(task)  # (the loop keeps only a weak reference)
                task.add_done_callback(self._tasks.discard)
            else:
                _settle(requests, self.service.decisions_json(*done))

    async def _decide_in_thread(
        self, ids: list[str], ask: dict[str, Any], requests: list[_Request]
    ) -> None:
        try:
            rt, batch = await run_in_threadpool(self.service.decide, ids, **ask)
            rendered: list[str] | None = self.service.decisions_json(rt, batch)
        except Exception:  # each request retries alone and gets its own error
            rendered = None
        _settle(requests, rendered)


def _settle(requests: list[_Request], rendered: list[str] | None) -> None:
    """Each request's decision JSON, or None: the endpoint decides it alone."""
    for i, r in enumerate(requests):
        if not r.future.done():  # (a request whose client went away is cancelled)
            r.future.set_result(None if rendered is None else rendered[i])
