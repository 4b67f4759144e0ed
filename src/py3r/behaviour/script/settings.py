"""Settings read from environment variables, each checked where it is read, with a message that
names the variable.

Standard library only (and this package's exceptions): every layer may read its settings here.
"""

from __future__ import annotations

import math
import os
import re
from typing import overload

from .exceptions import UsageError

__all__ = ["env_number", "parse_size"]


@overload
def env_number(
    name: str,
    default: float,
    *,
    what: str,
    integer: bool = False,
    zero: bool = False,
    size: bool = False,
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
    zero: bool = False,
    size: bool = False,
    example: str | None = None,
    unset: str | None = None,
) -> float | None: ...


def env_number(
    name: str,
    default: float | None,
    *,
    what: str,
    integer: bool = False,
    zero: bool = False,
    size: bool = False,
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
    zero : bool, default False
        Whether 0 will do too.
    size : bool, default False
        Whether a size as :func:`parse_size` reads it will do (``2G``, ``512M``; the value is then
        an ``int``, a number of bytes).
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
    if size:
        value = _size(text)
    else:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        kind = "whole number" if integer or size else "number"
        if example is None and default is not None:
            example = str(int(default)) if integer or float(default).is_integer() else f"{default:g}"
        unset = unset or f"the default ({example})"
        wanted = f"a {kind} of {what} (0 or more)" if zero else f"a positive {kind} of {what}"
        if size:
            wanted += " or a size such as 512M or 2G"
        raise UsageError(
            f"The environment variable {name} must be {wanted}; got {text!r}. "
            f"Set {'one' if size else 'a ' + kind}, e.g. {name}={example}, or unset it for {unset}."
        )
    return value


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def _size(text: str) -> int | None:
    """The bytes ``text`` says (``"2G"``, ``"512MiB"``, ``"1000000"``), or None when it says none."""
    match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?", text.strip().lower())
    return None if match is None else int(float(match.group(1)) * _UNITS[match.group(2)])


def parse_size(text: str, option: str) -> int | None:
    """A number of bytes typed by a person: ``"2G"``, ``"512M"``, ``"1000000"``; ``"none"`` is None.

    Suffixes count in powers of 1024 (``K``, ``M``, ``G``, ``T``, with or without ``iB`` or ``B``).

    Examples
    --------
    >>> from py3r.behaviour.script.settings import parse_size
    >>> [parse_size(text, "--max-memory") for text in ("2G", "1.5k", "512MiB", "none")]
    [2147483648, 1536, 536870912, None]
    """
    if text.strip().lower() == "none":
        return None
    value = _size(text)
    if value is None:
        raise UsageError(
            f"{option} takes a number of bytes (e.g. 2G, 512M or 1000000), or none; got {text!r}."
        )
    return value
