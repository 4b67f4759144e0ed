"""The reference API's discovery module: ``discover_params``, ``discover_outputs``, ``validate_names``.

Kept so that code written against the reference runs unchanged. Each is a thin view of the one
parse (:func:`~py3r.behaviour.script.read_script`), which says more: prefer it, or ``inspect``.
"""

from __future__ import annotations

from typing import Any

from ._types import ScriptPath
from .spec import ImportSpec, OutputSpec, ParamSpec, ScriptSpec, read_script

__all__ = [
    "ImportSpec",
    "OutputSpec",
    "ParamSpec",
    "ScriptSpec",
    "discover_outputs",
    "discover_params",
    "read_script",
    "validate_names",
]


def discover_params(script_path: ScriptPath) -> dict[str, Any]:
    """A script's parameters and their defaults, without running it (compatibility helper).

    :func:`read_script` gives more (types, lines, required); this is the reference API's view.

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to a script containing ``Param`` calls.

    Returns
    -------
    dict of str to object
        ``{name: default}`` in source order; ``None`` for a required parameter and for a default
        computed at run time (as in the reference; use :func:`read_script` to tell them apart).

    Raises
    ------
    ValueError, SyntaxError, FileNotFoundError
        As :func:`read_script`: e.g. a ``Param`` call missing the 'name' keyword.

    Examples
    --------
    >>> from py3r.behaviour.script.discovery import discover_params
    >>> discover_params("tests/scripts/reference_pipeline.py")
    {'data_path': '/my/data', 'smooth_window': 5, 'threshold': None}
    """
    spec = read_script(script_path)
    return {n: p.default if p.has_literal_default else None for n, p in spec.params.items()}


def discover_outputs(script_path: ScriptPath) -> list[str]:
    """A script's output names in source order, each once, without running it (compatibility helper).

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to a script containing ``Output`` calls.

    Returns
    -------
    list of str
        The names, in the order of their first call site.

    Examples
    --------
    >>> from py3r.behaviour.script.discovery import discover_outputs
    >>> discover_outputs("tests/scripts/reference_pipeline.py")
    ['tracking', 'summary']
    """
    return read_script(script_path).output_names


def validate_names(script_path: ScriptPath) -> None:
    """Raise ``ValueError`` for a name problem in a script's ``Param``/``Output`` calls (compatibility).

    The problems are those :func:`read_script` refuses: a call missing the 'name' keyword, a name that
    is not an identifier string literal, a duplicate Param name, and a name collision between a
    Param and an Output. One Output name at several call sites is allowed (if/else branches).

    Parameters
    ----------
    script_path : str or os.PathLike
        Path to the script.

    Raises
    ------
    ValueError
        Naming the problem, the file and the line.

    Examples
    --------
    >>> from py3r.behaviour.script.discovery import validate_names
    >>> validate_names("tests/scripts/reference_pipeline.py")
    >>> validate_names("tests/scripts/bad_duplicate_param.py")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Duplicate Param name 'x' in ...
    """
    read_script(script_path)
