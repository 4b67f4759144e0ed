"""The run store seen from a plan: which of its points are stored, and how to store the others."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..iteration import Iteration
from ..plan import Plan, Point
from ..results import ScriptResults
from .digest import point_key, script_digest
from .index import RunStore

__all__ = ["lookup"]


def lookup(
    store: RunStore,
    plan: Plan,
    results: ScriptResults,
    *,
    retry_failed: bool = False,
    timeout: float | None = None,
) -> tuple[list[Point], Callable[[Iteration], bool]]:
    """Fill ``results`` with the stored iterations of ``plan``.

    Returns the points still to run and a function that stores one of their iterations.
    """
    digest, cwd = script_digest(plan.spec), os.getcwd()
    keys = {p.index: point_key(plan, digest, p, cwd) for p in plan.points}
    todo: list[Point] = []
    for point in plan.points:
        hit = store.get(keys[point.index], retry_failed=retry_failed, timeout=timeout)
        if hit is None:
            todo.append(point)
            continue
        hit.index, hit.params, hit.values = point.index, dict(point.key), dict(point.values)
        results.add(hit)

    def save(it: Iteration) -> bool:
        return store.put(keys[it.index], plan, it, timeout=timeout, digest_of_script=digest)

    return todo, save
