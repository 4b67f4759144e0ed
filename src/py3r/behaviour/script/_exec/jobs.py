"""From a plan to plain data: the task of each point, and what an engine may preload for the script."""

from __future__ import annotations

import os

from .._engine import Preload
from .._worker.protocol import Task
from ..plan import Plan, Point
from ..settings import env_number
from ..spec import ScriptSpec

__all__ = ["make_tasks", "preload_of"]


def make_tasks(plan: Plan, points: list[Point], *, threads: int | None) -> list[tuple[Point, Task]]:
    """Each point with its task: everything its process needs, taken from this process now.

    The working directory, environment, output limit and front-end data are read once and shared
    by every task (nothing changes them: a child copies the environment before it applies it, and a
    cluster task replaces it with its worker's), so that a long sweep does not copy the
    environment once per point.
    """
    if not points:
        return []
    spec = plan.spec
    cwd = os.getcwd()
    env = dict(os.environ)
    output_limit = _output_limit()
    extra = dict(spec.extra.get("task", {}))
    return [
        (
            point,
            Task(
                script_path=str(spec.path),
                source=spec.source,
                values=dict(point.values),
                capture=plan.capture,
                stop_after=plan.stop_after_outputs,
                cwd=cwd,
                env=env,
                output_limit=output_limit,
                threads=threads,
                extra=extra,
                required=plan.explicit_outputs,
            ),
        )
        for point in points
    ]


def _output_limit() -> int | None:
    """PY3R_SCRIPT_MAX_OUTPUT_BYTES: the largest output (pickled) an iteration may send; unset, none."""
    limit = env_number(
        "PY3R_SCRIPT_MAX_OUTPUT_BYTES",
        None,
        what="bytes",
        integer=True,
        example="2000000000",
        unset="no limit",
    )
    return None if limit is None else int(limit)


def preload_of(spec: ScriptSpec) -> Preload:
    """The script's folder and the modules it imports at top level, but its own local ones."""
    modules = tuple(
        (imp.module, imp.names)
        for imp in spec.imports
        if imp.module and imp.module.split(".")[0] not in spec.local_modules
    )
    return Preload(str(spec.path.parent), modules)
