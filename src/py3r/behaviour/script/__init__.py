"""Run and sweep parameterised Python pipeline scripts without modifying them.

Mark knobs with :func:`Param` and intermediate results with :func:`Output`; then :func:`inspect`,
:func:`run` and :func:`sensitivity` the script, each iteration in a fresh process.

Every child process imports this package (the script's ``from py3r.behaviour.script import
Param``), so importing it loads only the annotations; everything else is imported on first use.
"""

from __future__ import annotations

import importlib
import typing

from .exceptions import IterationFailedWarning, StoreWarning, SweepInterruptedWarning
from .param import Output, Param

if typing.TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .discovery import ScriptSpec, read_script
    from .execute import CancelToken
    from .results import Failure, Iteration, ScriptResults
    from .runner import inspect, run, sensitivity
    from .store import history
    from .widgets import SweepPanel, panel

__all__ = [
    "CancelToken",
    "Failure",
    "Iteration",
    "IterationFailedWarning",
    "Output",
    "Param",
    "ScriptResults",
    "ScriptSpec",
    "StoreWarning",
    "SweepInterruptedWarning",
    "SweepPanel",
    "history",
    "inspect",
    "load_ipython_extension",
    "panel",
    "read_script",
    "run",
    "sensitivity",
    "unload_ipython_extension",
]

__version__ = "0.1.0"

#: Where each lazily imported public name lives.
_LAZY = {
    "CancelToken": "execute",
    "Failure": "results",
    "Iteration": "results",
    "ScriptResults": "results",
    "ScriptSpec": "discovery",
    "SweepPanel": "widgets",
    "history": "store",
    "inspect": "runner",
    "panel": "widgets",
    "read_script": "discovery",
    "run": "runner",
    "sensitivity": "runner",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext py3r.behaviour.script``: register ``%inspect_script`` and ``%%sweep``."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext py3r.behaviour.script``: remove the magics again."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)
