"""From a plan to plain data: the task of each point, and what an engine may preload for the script."""

from __future__ import annotations

import os

from .._engine import Preload
from .._worker.protocol import Task
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
        output_limit=_output_limit(),
        threads=threads,
        extra=dict(spec.extra.get("task", {})),
        required=plan.explicit_outputs,
    )


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
