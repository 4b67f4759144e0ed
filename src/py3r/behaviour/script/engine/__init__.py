"""Engines: how an iteration's fresh process is made.

- ``"fork"``: a warm worker per script forks a fresh child per iteration (Linux, macOS).
- ``"subprocess"``: a new Python interpreter per iteration (everywhere; slow to start).
- ``"auto"`` (default): ``"fork"`` where available, unless the environment variable
  ``PY3R_SCRIPT_ENGINE`` names another.
"""

from __future__ import annotations

import os
from typing import Literal

from .base import Engine, Job
from .fork import POOL, ForkEngine, fork_available
from .subprocess import SubprocessEngine

__all__ = ["POOL", "Engine", "EngineName", "ForkEngine", "Job", "SubprocessEngine", "get_engine"]

EngineName = Literal["auto", "fork", "subprocess"]


def get_engine(engine: EngineName | Engine = "auto") -> Engine:
    """The engine for ``engine`` (a name or an instance, returned as is)."""
    if isinstance(engine, Engine):
        return engine
    name = engine
    if name == "auto":
        name = os.environ.get("PY3R_SCRIPT_ENGINE", "auto")  # type: ignore[assignment]
        if name == "auto":
            name = "fork" if fork_available() else "subprocess"
    if name == "fork":
        if not fork_available():
            raise ValueError("engine='fork' needs os.fork (Linux or macOS); use engine='subprocess'.")
        return ForkEngine()
    if name == "subprocess":
        return SubprocessEngine()
    if name != engine:
        raise ValueError(
            f"The environment variable PY3R_SCRIPT_ENGINE must be 'auto', 'fork' or 'subprocess'; "
            f"got {name!r}. Set one of those, or unset it."
        )
    raise ValueError(f"engine must be 'auto', 'fork', 'subprocess' or an Engine; got {engine!r}.")
