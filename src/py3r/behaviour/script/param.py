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


def within(value: Any, low: Any = None, high: Any = None, choices: Any = None) -> bool:
    """Whether ``value`` is allowed by a parameter's ``low``/``high`` (inclusive) or ``choices``.

    Numbers compare by value (``1 == 1.0``), never with bools; NaN is among choices that hold NaN
    and outside every range. The one rule, shared by ``Param`` and the checks run before a process
    starts.

    Examples
    --------
    >>> from py3r.behaviour.script.param import within
    >>> within(5, low=1, high=51), within(0, low=1), within("max", choices=["mean", "median"])
    (True, False, False)
    """
    if choices is not None:
        return any(_same(value, choice) for choice in choices)
    if low is None and high is None:
        return True
    if not _is_real(value) or value != value:  # NaN lies in no range
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def limits_text(low: Any = None, high: Any = None, choices: Any = None) -> str:
    """``'within [1, 51]'``, ``'at least 0'``, ``'one of ['mean', 'median']'``: limits as messages say them.

    Examples
    --------
    >>> from py3r.behaviour.script.param import limits_text
    >>> limits_text(1, 51), limits_text(low=0), limits_text(choices=("mean", "median"))
    ('within [1, 51]', 'at least 0', "one of ['mean', 'median']")
    """
    if choices is not None:
        return f"one of {list(choices)!r}"
    if high is None:
        return f"at least {low!r}"
    if low is None:
        return f"at most {high!r}"
    return f"within [{low!r}, {high!r}]"


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if _is_real(a) and _is_real(b):
        return bool(a == b or (a != a and b != b))
    return type(a) is type(b) and a == b


def _check_metadata(name: str, low: Any, high: Any, step: Any, choices: Any, doc: Any) -> None:
    """Cheap checks of ``Param``'s own arguments (discovery checks them in full, with the line)."""
    for what, bound in (("low", low), ("high", high), ("step", step)):
        if bound is not None and not _is_real(bound):
            raise TypeError(f"Param {name!r}: {what}= takes a number or None; got {bound!r}.")
    if choices is not None and (
        not isinstance(choices, (list, tuple))
        or not choices
        or not all(isinstance(c, SCALAR_TYPES) for c in choices)
    ):
        raise TypeError(f"Param {name!r}: choices= takes a non-empty list of scalars; got {choices!r}.")
    if doc is not None and not isinstance(doc, str):
        raise TypeError(f"Param {name!r}: doc= takes a str; got {doc!r}.")
    if low is not None and high is not None and low > high:
        raise ValueError(f"Param {name!r}: low={low!r} is above high={high!r}.")
    if step is not None and not step > 0:
        raise ValueError(f"Param {name!r}: step= must be a positive number; got {step!r}.")


def Param(
    default: ParamValue = MISSING,  # type: ignore[assignment]
    *,
    name: str,
    low: float | None = None,
    high: float | None = None,
    step: float | None = None,
    choices: list[ParamValue] | tuple[ParamValue, ...] | None = None,
    doc: str | None = None,
) -> Any:
    """Mark a script variable as a runner parameter.

    In normal script execution, returns ``default``. If no default is given, raises
    ``RuntimeError`` to signal that the script must be run via :func:`run` or
    :func:`sensitivity` with a value supplied for this parameter. When run via :func:`run` or
    :func:`sensitivity`, returns the injected value.

    The keyword arguments after ``name`` are an extension of the reference API, all optional:
    they say which values make sense, and are read from the script without running it (so they
    must be written out: numbers, ``math.pi``, simple arithmetic such as ``2 * 60``, and lists of
    literals). A value outside them is refused before any process starts.

    Parameters
    ----------
    default : bool | int | float | str | None
        Value used during normal execution. Omit to mark the parameter as required (no default:
        it must always be supplied by the runner). ``None`` is a real default, not "required".
    name : str
        Parameter name, matched against keys passed to ``run`` or ``sensitivity``.
    low, high : int or float, optional
        Inclusive bounds of an int or float parameter; either may be left out.
    step : int or float, optional
        The spacing of sensible values, a hint for sliders and generated grids (not a constraint).
    choices : list, optional
        The values allowed, of the parameter's type (any scalars when the default is ``None``).
    doc : str, optional
        What the parameter means, with its unit. Without it, a comment at the end of the
        ``Param`` line, or on the comment line right above it, is the description.

    Returns
    -------
    bool | int | float | str | None
        The default, or the value the runner injected.

    Raises
    ------
    TypeError
        If ``default`` is not a ``bool``, ``int``, ``float``, ``str`` or ``None``, or an argument
        after ``name`` does not have its type.
    ValueError
        If the value returned would lie outside ``low``/``high`` or ``choices``.
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
    >>> Param(2.0, name="threshold", low=0.0, high=20.0, doc="speed above which the animal moves, cm/s")
    2.0
    >>> Param("mean", name="smoothing", choices=["mean", "median"])
    'mean'
    """
    _check_name(name, "Param")
    if default is not MISSING and not isinstance(default, SCALAR_TYPES):
        raise TypeError(
            f"Param {name!r} has a default of type {type(default).__name__}; a default must be a scalar "
            "(bool, int, float, str or None). Pass a scalar default, or compute the value from a scalar "
            "Param."
        )
    limited = low is not None or high is not None or choices is not None
    if limited or step is not None or doc is not None:
        _check_metadata(name, low, high, step, choices, doc)
    if _hook is not None:
        value = _hook.param(name, default)
    elif default is MISSING:
        raise RuntimeError(
            f"Param {name!r} has no default, so this script must be run through "
            f"py3r.behaviour.script.run() or sensitivity() with a value for {name!r}, "
            f"e.g. run(script, {{{name!r}: ...}})."
        )
    else:
        value = default
    if limited and not within(value, low, high, choices):
        raise ValueError(f"Param {name!r} is {value!r}; it must be {limits_text(low, high, choices)}.")
    return value


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
