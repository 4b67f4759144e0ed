"""Run and sweep parameterised Python pipeline scripts without modifying them.

Mark knobs with :func:`Param` and intermediate results with :func:`Output`; then :func:`inspect`,
:func:`run` and :func:`sensitivity` the script, each iteration in a fresh process.

This is the one documented import path: every public name is listed in ``__all__`` and importable
from here. Every child process imports this package (the script's ``from py3r.behaviour.script
import Param``), so importing it loads only the annotations and the warnings; every other name is
imported on first use.
"""

from __future__ import annotations

import importlib
import typing

from .exceptions import IterationFailedWarning, StoreWarning, SweepInterruptedWarning, UsageError
from .param import Output, Param

if typing.TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from ._exec import CancelToken
    from .design import plan_design
    from .discovery import discover_outputs, discover_params, validate_names
    from .frontends.panel import SweepPanel, panel
    from .iteration import Failure, Iteration, Outputs
    from .plan import Design, Plan, Point, plan_run, plan_sweep
    from .plotting import plot_results
    from .results import ScriptResults
    from .runner import execute_plan, inspect, run, sensitivity
    from .spec import OutputSpec, ParamSpec, ScriptSpec, read_script
    from .spill import SpilledOutput
    from .store import RunStore, history, open_store

__all__ = [
    "CancelToken",
    "Design",
    "Failure",
    "Iteration",
    "IterationFailedWarning",
    "Output",
    "OutputSpec",
    "Outputs",
    "Param",
    "ParamSpec",
    "Plan",
    "Point",
    "RunStore",
    "ScriptResults",
    "ScriptSpec",
    "SpilledOutput",
    "StoreWarning",
    "SweepInterruptedWarning",
    "SweepPanel",
    "UsageError",
    "discover_outputs",
    "discover_params",
    "execute_plan",
    "history",
    "inspect",
    "load_ipython_extension",
    "open_store",
    "panel",
    "plan_design",
    "plan_run",
    "plan_sweep",
    "plot_results",
    "read_script",
    "run",
    "sensitivity",
    "unload_ipython_extension",
    "validate_names",
]

__version__ = "0.1.0"

#: Where each lazily imported public name lives.
_LAZY = {
    "CancelToken": "_exec",
    "Design": "plan",
    "Failure": "iteration",
    "Iteration": "iteration",
    "OutputSpec": "spec",
    "Outputs": "iteration",
    "ParamSpec": "spec",
    "Plan": "plan",
    "Point": "plan",
    "RunStore": "store",
    "ScriptResults": "results",
    "ScriptSpec": "spec",
    "SpilledOutput": "spill",
    "SweepPanel": "frontends.panel",
    "discover_outputs": "discovery",
    "discover_params": "discovery",
    "execute_plan": "runner",
    "history": "store",
    "inspect": "runner",
    "open_store": "store",
    "panel": "frontends.panel",
    "plan_design": "design",
    "plan_run": "plan",
    "plan_sweep": "plan",
    "plot_results": "plotting",
    "read_script": "spec",
    "run": "runner",
    "sensitivity": "runner",
    "validate_names": "discovery",
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
    """``%load_ext py3r.behaviour.script``: register ``%inspect_script`` and ``%%sweep``.

    Parameters
    ----------
    ipython : IPython.core.interactiveshell.InteractiveShell
        The shell to register the magics with.

    Examples
    --------
    >>> from IPython.core.interactiveshell import InteractiveShell
    >>> from py3r.behaviour.script import load_ipython_extension
    >>> shell = InteractiveShell.instance()
    >>> load_ipython_extension(shell)
    >>> "sweep" in shell.magics_manager.magics["cell"]
    True
    """
    from .frontends.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """``%unload_ext py3r.behaviour.script``: remove the magics again.

    Parameters
    ----------
    ipython : IPython.core.interactiveshell.InteractiveShell
        The shell to remove the magics from.

    Examples
    --------
    >>> from IPython.core.interactiveshell import InteractiveShell
    >>> from py3r.behaviour.script import load_ipython_extension, unload_ipython_extension
    >>> shell = InteractiveShell.instance()
    >>> load_ipython_extension(shell)
    >>> unload_ipython_extension(shell)
    >>> "sweep" in shell.magics_manager.magics["cell"]
    False
    """
    from .frontends.magics import unload_ipython_extension as _unload

    _unload(ipython)
