"""From a plan to plain data: the task of each point, and what an engine may preload for the script."""

from __future__ import annotations

import os

from .._engine import Preload
from .._worker.protocol import DEFAULT_OUTPUT_LIMIT, Task
from ..plan import Plan, Point
from ..settings import env_number
from ..spec import ScriptSpec

__all__ = ["make_task", "preload_of"]


def make_task(plan: Plan, point: Point, *, threads: int | None) -> Task:
    """The task of one point: everything its process needs, taken from this process now."""
    spec = plan.spec
    return Task(
        script_path=str(spec.path),
        source=spec.source,
        values=dict(point.values),
        capture=plan.capture,
        stop_after=plan.stop_after_outputs,
        cwd=os.getcwd(),
        env=dict(os.environ),
        output_limit=int(
            env_number("PY3R_SCRIPT_MAX_OUTPUT_BYTES", DEFAULT_OUTPUT_LIMIT, what="bytes", integer=True)
        ),
        threads=threads,
        extra=dict(spec.extra.get("task", {})),
        required=plan.explicit_outputs,
    )


def preload_of(spec: ScriptSpec) -> Preload:
    """The script's folder and the modules it imports at top level, but its own local ones."""
    modules = tuple(
        (imp.module, imp.names)
        for imp in spec.imports
        if imp.module and imp.module.split(".")[0] not in spec.local_modules
    )
    return Preload(str(spec.path.parent), modules)
