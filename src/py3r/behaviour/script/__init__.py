"""Run and sweep parameterised Python pipeline scripts without modifying them.

Mark knobs with :func:`Param` and intermediate results with :func:`Output`; then :func:`inspect`,
:func:`run` and :func:`sensitivity` the script, each iteration in a fresh process. Importing this
package is light (no pandas, IPython, ipywidgets or matplotlib): every child process imports it.
"""

from __future__ import annotations

import typing

from .discovery import ScriptSpec, read_script
from .exceptions import IterationFailedWarning, SweepInterruptedWarning
from .execute import CancelToken
from .param import Output, Param
from .results import Failure, Iteration, ScriptResults
from .runner import inspect, run, sensitivity

__all__ = [
    "CancelToken",
    "Failure",
    "Iteration",
    "IterationFailedWarning",
    "Output",
    "Param",
    "ScriptResults",
    "ScriptSpec",
    "SweepInterruptedWarning",
    "SweepPanel",
    "inspect",
    "load_ipython_extension",
    "panel",
    "read_script",
    "run",
    "sensitivity",
    "unload_ipython_extension",
]

__version__ = "0.1.0"

if typing.TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext py3r.behaviour.script``: register ``%inspect_script`` and ``%%sweep``."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext py3r.behaviour.script``: remove the magics again."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def __getattr__(name: str) -> object:
    # The panel needs ipywidgets: imported on first use, never by `import py3r.behaviour.script`.
    if name in ("panel", "SweepPanel"):
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
