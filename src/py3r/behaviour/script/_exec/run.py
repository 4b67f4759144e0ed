"""Running a plan's points, locally or on an executor, into a :class:`ScriptResults`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .._engine import Engine, get_engine
from ..iteration import Iteration
from ..plan import Plan, Point
from ..results import ScriptResults
from .cancel import CancelToken
from .cluster import connected, run_on_executor
from .jobs import make_tasks, preload_of
from .local import Claims, LocalLoop
from .outcome import cancelled
from .progress import Progress

__all__ = ["execute"]


def execute(
    plan: Plan,
    results: ScriptResults,
    points: list[Point],
    *,
    engine: str | Engine = "auto",
    workers: int = 1,
    timeout: float | None = None,
    progress: bool = False,
    cancel: CancelToken | None = None,
    on_iteration: Callable[[Iteration, ScriptResults], None] | None = None,
    executor: Any = None,
    before_add: Callable[[Iteration], object] | None = None,
    claims: Claims | None = None,
) -> None:
    """Run ``points`` of ``plan`` and add each iteration to ``results`` the moment it is known.

    Never raises for a failing iteration. On Ctrl-C or a Cancel the points that did not finish are
    added as cancelled and ``results.interrupted`` is set; every process started is gone on return.
    ``executor`` (a Dask client, a scheduler address or a ``concurrent.futures`` executor) runs
    each point as one task there instead; ``engine`` and ``workers`` are then the cluster's business.
    ``before_add`` sees each iteration with its outputs as they arrived, before the results decide
    what to keep in memory (the run store writes them then, so that results can refer to its copy).
    ``claims`` (a run store's leases) makes local runs wait for points another process is
    computing, and take their stored results, instead of computing them again.
    """
    bar = (
        Progress(len(plan.points), done=len(plan.points) - len(points), label=results.script)
        if progress
        else None
    )

    def arrived(it: Iteration) -> None:
        if before_add is not None:
            before_add(it)
        results.add(it)
        if bar is not None:
            bar.update(it.status)
        if on_iteration is not None:
            on_iteration(it, results)

    preload = preload_of(plan.spec)
    try:
        if executor is None:
            workers = max(1, min(workers, len(points) or 1))
            threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
            work = make_tasks(plan, points, threads=threads)
            loop = LocalLoop(
                get_engine(engine),
                preload,
                on_iteration=arrived,
                workers=workers,
                timeout=timeout,
                cancel=cancel,
                label=plan.spec.display_path,
                on_output=bar.received if bar is not None else None,
                claims=claims,
            )
            interrupted, unfinished = loop.run(work)
            why = "The iteration was cancelled before it started."
        else:
            work = make_tasks(plan, points, threads=None)
            with connected(executor) as where:
                interrupted, unfinished = run_on_executor(
                    where, work, preload, on_iteration=arrived, timeout=timeout, cancel=cancel
                )
            why = "The iteration was cancelled before it finished."
    finally:
        if bar is not None:
            bar.close()
    if interrupted:
        for point in unfinished:
            results.add(cancelled(point, why))
        results.interrupted = True
