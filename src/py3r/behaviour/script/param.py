"""The two annotations scripts use, ``Param`` and ``Output``, and the hook a runner installs.

Both are transparent: outside a runner ``Param`` returns its default and ``Output`` returns its value
unchanged, so an annotated script still runs on its own with ``python script.py``. Inside a runner's
child process, ``_child`` installs a :class:`Hook` that supplies injected values and receives outputs.

This module is imported by every child process: it must stay free of heavy imports.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from ._types import MISSING, SCALAR_TYPES, ParamValue

__all__ = ["Output", "Param"]

T = TypeVar("T")


class Hook(Protocol):
    """What a runner's child process installs to take over ``Param`` and ``Output``."""

    def param(self, name: str, default: Any) -> Any:
        """Return the value for parameter ``name`` (``default`` may be ``MISSING``)."""

    def output(self, name: str, value: Any) -> None:
        """Capture ``value`` as output ``name``."""


_hook: Hook | None = None


def install_hook(hook: Hook | None) -> None:
    """Install (or, with ``None``, remove) the runner hook of this process."""
    global _hook
    _hook = hook


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{what} name must be a Python identifier string; got {name!r}.")
    return name


def Param(default: ParamValue = MISSING, *, name: str) -> Any:  # type: ignore[assignment]
    """Mark a script variable as a runner parameter.

    In normal script execution, returns ``default``. If no default is given, raises
    ``RuntimeError`` to signal that the script must be run via :func:`run` or
    :func:`sensitivity` with a value supplied for this parameter. When run via :func:`run` or
    :func:`sensitivity`, returns the injected value.

    Parameters
    ----------
    default : bool | int | float | str | None
        Value used during normal execution. Omit to mark the parameter as required (no default:
        it must always be supplied by the runner). ``None`` is a real default, not "required".
    name : str
        Parameter name, matched against keys passed to ``run`` or ``sensitivity``.

    Returns
    -------
    bool | int | float | str | None
        The default, or the value the runner injected.

    Raises
    ------
    TypeError
        If ``default`` is not a ``bool``, ``int``, ``float``, ``str`` or ``None``.
    RuntimeError
        If the parameter has no default and the script is not being run by a runner.

    Examples
    --------
    >>> from py3r.behaviour.script import Param
    >>> window = Param(5, name="window")
    >>> window
    5
    >>> type(window)
    <class 'int'>
    """
    _check_name(name, "Param")
    if default is not MISSING and not isinstance(default, SCALAR_TYPES):
        raise TypeError(
            f"Param {name!r} has a default of type {type(default).__name__}; a default must be a scalar "
            "(bool, int, float, str or None). Pass a scalar default, or compute the value from a scalar "
            "Param."
        )
    if _hook is not None:
        return _hook.param(name, default)
    if default is MISSING:
        raise RuntimeError(
            f"Param {name!r} has no default, so this script must be run through "
            f"py3r.behaviour.script.run() or sensitivity() with a value for {name!r}, "
            f"e.g. run(script, {{{name!r}: ...}})."
        )
    return default


def Output(value: T, *, name: str) -> T:
    """Mark a script value as a runner output to capture.

    In normal script execution, returns ``value`` unchanged (the very same object). When run via
    :func:`run` or :func:`sensitivity`, also captures the value under ``name`` in the results.

    Parameters
    ----------
    value : object
        The value to capture. Any picklable type is accepted.
    name : str
        Output name, used to key results in :class:`ScriptResults`.

    Returns
    -------
    object
        ``value`` itself.

    Examples
    --------
    >>> import pandas as pd
    >>> from py3r.behaviour.script import Output
    >>> df = pd.DataFrame({"a": [1, 2]})
    >>> result = Output(df, name="summary")
    >>> result is df
    True
    """
    _check_name(name, "Output")
    if _hook is not None:
        _hook.output(name, value)
    return value
