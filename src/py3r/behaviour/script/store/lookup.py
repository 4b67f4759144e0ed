"""The run store seen from a plan: which of its points are stored, how to store the others, and
which of them another process is computing right now."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from ..iteration import Iteration, at_point
from ..plan import Plan, Point
from ..results import ScriptResults
from .digest import point_key, script_digest
from .index import RunStore

__all__ = ["Claims", "lookup"]


class Claims:
    """The leases of one call: a point is computed by one process at a time.

    The execution loop asks :meth:`claim` before it starts a point, and again, now and then, for
    the points it was told to wait for. :meth:`close` gives up every lease the call still holds.
    """

    def __init__(
        self, store: RunStore, keys: dict[int, str], *, retry_failed: bool, timeout: float | None
    ) -> None:
        self.store = store
        self.keys = keys
        self.owner = uuid.uuid4().hex
        self.retry_failed = retry_failed
        self.timeout = timeout

    def claim(self, point: Point) -> Iteration | bool:
        """True: compute ``point`` (its lease is ours); False: another process computes it, ask
        again later; an Iteration: it was stored meanwhile, here it is (marked ``cached``)."""
        key = self.keys[point.index]
        if not self.store.take_lease(key, self.owner):
            return False
        # Read after taking the lease: a holder stores its result and gives the lease up at once,
        # so a point finished between the first look and now is found here, not computed again.
        hit = self.store.get(key, retry_failed=self.retry_failed, timeout=self.timeout)
        if hit is None:
            return True
        self.store.release_leases(self.owner, key)
        return at_point(hit, point)

    def release(self, index: int) -> None:
        """Give up the lease of the point at ``index`` (it ended without being stored)."""
        self.store.release_leases(self.owner, self.keys[index])

    def close(self) -> None:
        self.store.release_leases(self.owner)


def lookup(
    store: RunStore,
    plan: Plan,
    results: ScriptResults,
    *,
    retry_failed: bool = False,
    timeout: float | None = None,
) -> tuple[list[Point], Callable[[Iteration], bool], Claims]:
    """Fill ``results`` with the stored iterations of ``plan``.

    Returns the points still to run, a function that stores one of their iterations (and gives up
    its lease), and the call's :class:`Claims`.
    """
    digest, cwd = script_digest(plan.spec), os.getcwd()
    keys = {p.index: point_key(plan, digest, p, cwd) for p in plan.points}
    todo: list[Point] = []
    for point in plan.points:
        hit = store.get(keys[point.index], retry_failed=retry_failed, timeout=timeout)
        if hit is None:
            todo.append(point)
            continue
        results.add(at_point(hit, point))
    claims = Claims(store, keys, retry_failed=retry_failed, timeout=timeout)

    def save(it: Iteration) -> bool:
        if it.cached:  # stored by another process while this call waited for it
            return False
        stored = store.put(keys[it.index], plan, it, timeout=timeout, digest_of_script=digest)
        if not stored:
            claims.release(it.index)
        return stored

    return todo, save, claims
