"""Settings read from environment variables, each checked where it is read, with a message that
names the variable.

Standard library only (and this package's exceptions): every layer may read its settings here.
"""

from __future__ import annotations

import math
import os
from typing import overload

from .exceptions import UsageError

__all__ = ["env_number"]


@overload
def env_number(
    name: str,
    default: float,
    *,
    what: str,
    integer: bool = False,
    example: str | None = None,
    unset: str | None = None,
) -> float: ...


@overload
def env_number(
    name: str,
    default: None,
    *,
    what: str,
    integer: bool = False,
    example: str | None = None,
    unset: str | None = None,
) -> float | None: ...


def env_number(
    name: str,
    default: float | None,
    *,
    what: str,
    integer: bool = False,
    example: str | None = None,
    unset: str | None = None,
) -> float | None:
    """The positive number the environment variable ``name`` holds, or ``default`` when it is unset.

    Parameters
    ----------
    name : str
        The variable, e.g. ``"PY3R_SCRIPT_WORKER_IDLE"``.
    default : float or None
        The value when the variable is unset or empty.
    what : str
        What the number counts, for the message: ``"seconds"``, ``"bytes"``.
    integer : bool, default False
        Whether only a whole number will do (the value is then an ``int``).
    example, unset : str, optional
        A value to suggest, and what leaving the variable unset means, for the message (by
        default: the default).

    Returns
    -------
    float or int or None
        The value.

    Raises
    ------
    UsageError
        If the variable holds something else than a positive (whole) number; the message names
        the variable, what it holds and what to do.

    Examples
    --------
    >>> import os
    >>> from py3r.behaviour.script.settings import env_number
    >>> os.environ["PY3R_EXAMPLE_SECONDS"] = "2.5"
    >>> env_number("PY3R_EXAMPLE_SECONDS", 600.0, what="seconds")
    2.5
    >>> os.environ["PY3R_EXAMPLE_SECONDS"] = "ten"
    >>> env_number("PY3R_EXAMPLE_SECONDS", 600.0, what="seconds")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    py3r.behaviour.script.exceptions.UsageError: The environment variable PY3R_EXAMPLE_SECONDS must ...
    >>> del os.environ["PY3R_EXAMPLE_SECONDS"]
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return int(default) if integer and default is not None else default
    value: float | None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        kind = "whole number" if integer else "number"
        if example is None and default is not None:
            example = str(int(default)) if integer or float(default).is_integer() else f"{default:g}"
        unset = unset or f"the default ({example})"
        raise UsageError(
            f"The environment variable {name} must be a positive {kind} of {what}; got {text!r}. "
            f"Set a {kind}, e.g. {name}={example}, or unset it for {unset}."
        )
    return value
