"""Engines: how an iteration's fresh process is made, looked up by name in a registry.

- ``"fork"``: a warm worker per script forks a fresh child per iteration (Linux, macOS).
- ``"subprocess"``: a new Python interpreter per iteration (everywhere; slow to start).
- ``"auto"`` (default): ``"fork"`` where available, unless the environment variable
  ``PY3R_SCRIPT_ENGINE`` names another.
"""

from __future__ import annotations

import os
from typing import Literal

from .base import Engine, Job, Preload
from .fork import ForkEngine, fork_available
from .subprocess import SubprocessEngine

__all__ = ["Engine", "EngineName", "Job", "Preload", "get_engine", "register_engine"]

EngineName = Literal["auto", "fork", "subprocess"]

_REGISTRY: dict[str, type[Engine]] = {}


def register_engine(engine: type[Engine]) -> type[Engine]:
    """Make ``engine`` available by its ``name`` (usable as a class decorator)."""
    _REGISTRY[engine.name] = engine
    return engine


register_engine(ForkEngine)
register_engine(SubprocessEngine)


def get_engine(engine: str | Engine = "auto") -> Engine:
    """A new engine for ``engine`` (a registered name or ``"auto"``; an instance is returned as is)."""
    if isinstance(engine, Engine):
        return engine
    name = engine
    if name == "auto":
        name = os.environ.get("PY3R_SCRIPT_ENGINE", "auto")
        if name == "auto":
            name = "fork" if fork_available() else "subprocess"
    if name == "fork" and not fork_available():
        raise ValueError("engine='fork' needs os.fork (Linux or macOS); use engine='subprocess'.")
    if name in _REGISTRY:
        return _REGISTRY[name]()
    known = ", ".join(repr(n) for n in ("auto", *_REGISTRY))
    if name != engine:
        raise ValueError(
            f"The environment variable PY3R_SCRIPT_ENGINE must be one of {known}; got {name!r}. "
            "Set one of those, or unset it."
        )
    raise ValueError(f"engine must be one of {known}, or an Engine; got {engine!r}.")
