"""Values: their keys, what counts as a scalar, checking a value against a parameter, reading one from text.

One copy of each rule, for every layer: plans check values here, results index by these keys, the
run store keys on them, and the command line, the magics and the panel parse typed text here.
Nothing is ever cast: ``2.7`` is no int and the string ``"False"`` is no bool.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._types import SCALAR_TYPES, ParamValue
from .exceptions import UsageError
from .param import limits_text, within

if TYPE_CHECKING:
    from .spec.model import ParamSpec, ScriptSpec

__all__ = [
    "as_python",
    "check_value",
    "describe",
    "did_you_mean",
    "distinct",
    "fits",
    "format_value",
    "is_number",
    "is_scalar",
    "key_of",
    "nfc",
    "parse_value",
    "split_names",
    "unknown_names",
    "value_key",
]


# Keys --------------------------------------------------------------------------------------------
def key_of(value: Any) -> tuple[str, Any]:
    """A hashable key of one value that keeps ``1``, ``1.0`` and ``True`` apart and NaN equal to NaN."""
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def distinct(values: Iterable[Any]) -> list[Any]:
    """``values`` without repeats, in order of first appearance; values are the same when their
    :func:`key_of` is (``1``, ``1.0`` and ``True`` differ, NaN repeats NaN).

    Examples
    --------
    >>> from py3r.behaviour.script.values import distinct
    >>> distinct([1, 1.0, True, 1, float("nan"), float("nan")])
    [1, 1.0, True, nan]
    """
    unique: dict[tuple[str, Any], Any] = {}
    for value in values:
        unique.setdefault(key_of(value), value)
    return list(unique.values())


def nfc(name: str) -> str:
    """A parameter or output name in Unicode normal form C: ``"größe"`` typed with a combining
    diaeresis (NFD, as some keyboards and file systems make it) is the same name as the composed one.

    Examples
    --------
    >>> from py3r.behaviour.script.values import nfc
    >>> nfc("gro\u0308\u00dfe") == "gr\u00f6\u00dfe"
    True
    """
    if not isinstance(name, str) or name.isascii():
        return name  # a name that is not a str is refused where names are checked
    import unicodedata

    return unicodedata.normalize("NFC", name)


def value_key(values: Mapping[str, Any]) -> tuple[tuple[str, str, Any], ...]:
    """A hashable key of a dict of parameter values, whatever its order (see :func:`key_of`).

    Names are compared in Unicode normal form C (:func:`nfc`).

    Examples
    --------
    >>> from py3r.behaviour.script.values import value_key
    >>> value_key({"b": 1, "a": 1.0}) == value_key({"a": 1.0, "b": 1}) != value_key({"a": 1, "b": 1})
    True
    """
    return tuple(sorted(((nfc(name), *key_of(value)) for name, value in values.items()), key=lambda k: k[0]))


# Scalars -----------------------------------------------------------------------------------------
def _numpy() -> Any:
    return sys.modules.get("numpy")  # never imported here: a numpy value means it is loaded


def is_scalar(value: Any) -> bool:
    """A value that fits a table cell: bool, int, float, complex, str, None or a numpy scalar."""
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return True
    np = _numpy()
    return np is not None and isinstance(value, np.generic)


def is_number(value: Any) -> bool:
    """A real number (numpy's too) that a plot can place; bools are not numbers here."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    np = _numpy()
    return np is not None and isinstance(value, np.number) and not isinstance(value, np.complexfloating)


def as_python(value: Any) -> Any:
    """A numpy (or other array-library) scalar as the matching Python scalar; others unchanged."""
    if type(value).__module__.split(".")[0] == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def describe(value: Any) -> str:
    """``the string 'x'``, ``the int 3``, ``None``: a value as messages name it."""
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "None"
    if isinstance(value, int) and value.bit_length() > 2000:  # repr may exceed Python's digit limit
        return f"an int of about {value.bit_length() * 0.30103:.0f} digits"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"the {type(value).__name__} {text}"


def format_value(value: Any) -> str:
    """A value as a table shows it: floats with six significant digits, others by ``repr``."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


# Checking ----------------------------------------------------------------------------------------
_EXAMPLES = {"int": "5", "float": "0.8", "bool": "True", "str": "'text'", "any": "0.8", "computed": "0.8"}
_WANTED = {
    "int": "an int",
    "float": "a float",
    "bool": "a bool",
    "str": "a str",
    "any": "a scalar",
    "computed": "a scalar",
}


def fits(kind: str, value: Any) -> bool:
    """Whether ``value`` has the type a parameter of type ``kind`` takes: an int is also a float's,
    a bool is no int's; a parameter of no declared type (``"any"``, ``"computed"``) takes any.

    Examples
    --------
    >>> from py3r.behaviour.script.values import fits
    >>> fits("float", 2), fits("int", 2.0), fits("int", True), fits("any", "x")
    (True, False, False, True)
    """
    if kind in ("any", "computed"):
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return kind == "str" and isinstance(value, str)


def check_value(spec: ScriptSpec, param: ParamSpec, value: Any) -> ParamValue:
    """Check ``value`` for ``param`` and return it normalised.

    numpy scalars become Python scalars, values of subclasses of int, float or str (an ``IntEnum``
    member) the plain base type, and an int given to a float parameter becomes a float.
    Nothing is ever cast: ``2.7`` is no int and the string ``"False"`` is no bool.

    Parameters
    ----------
    spec : ScriptSpec
        The script the parameter belongs to (named in messages).
    param : ParamSpec
        The parameter.
    value : object
        The proposed value.

    Returns
    -------
    bool | int | float | str | None
        The value to inject.

    Raises
    ------
    TypeError
        If the value does not have the parameter's type, or is not a scalar.
    ValueError
        If the value lies outside the parameter's ``low``/``high`` or is not among its ``choices``.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.values import check_value
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> check_value(spec, spec.params["threshold"], 3)
    3.0
    >>> check_value(spec, spec.params["smooth_window"], 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Parameter 'smooth_window' of ... must be within [1, 51]; got the int 0. ...
    """
    value = _base_type(as_python(value))
    kind = param.type
    where = f"Parameter {param.name!r} of {spec.where(param.line)}"
    example = f"{param.name}={_EXAMPLES[kind]}"
    if not isinstance(value, SCALAR_TYPES):
        raise TypeError(
            f"{where} takes a single {'value' if kind in ('any', 'computed') else kind}; got "
            f"{describe(value)}, which is not a scalar (bool, int, float, str or None). To try "
            f"several values, sweep them: sensitivity(script, {{{param.name!r}: [...]}})."
        )
    if not fits(kind, value):
        hint = f"Pass {_WANTED[kind]}, e.g. {example}."
        if kind == "bool" and isinstance(value, str):
            hint = "Pass True or False without quotes."
        elif kind == "int" and isinstance(value, float):
            hint = f"Pass a whole number; values are never rounded, e.g. {example}."
        raise TypeError(f"{where} is {_WANTED[kind]}; got {describe(value)}. {hint}")
    if kind == "float":
        try:
            value = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise ValueError(
                f"{where} is a float; got {describe(value)}, too large for a float (the largest is "
                f"about 1.8e308). Pass a smaller number, e.g. {example}."
            ) from None
    if param.limited:
        _check_limits(where, param, value)
    return value  # type: ignore[no-any-return]


def _check_limits(where: str, param: ParamSpec, value: Any) -> None:
    """Refuse a value outside the parameter's declared range or choices."""
    if within(value, param.low, param.high, param.choices):
        return
    limits = limits_text(param.low, param.high, param.choices)
    change = "choices=" if param.choices is not None else "low=/high="
    raise ValueError(
        f"{where} must be {limits}; got {describe(value)}. Pick an allowed value, or change "
        f"{change} at the Param call if the script really accepts it."
    )


def _base_type(value: Any) -> Any:
    """A value of a subclass of int, float or str (an ``IntEnum`` member, a ``str`` subclass) as the
    plain base type: the iteration's process may not be able to import the subclass (defined in the
    caller's ``__main__``), and the script expects the plain value. Base methods are called
    directly, so a subclass's own ``__int__`` or ``__str__`` cannot change the value."""
    kind = type(value)
    if kind in (bool, int, float, str) or value is None:
        return value
    if isinstance(value, int):  # bool cannot be subclassed
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    return value


# Names -------------------------------------------------------------------------------------------
def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the known name closest to ``name``; empty when none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def unknown_names(spec: ScriptSpec, names: Iterable[str], what: str) -> None:
    """Refuse the first of ``names`` that is no parameter of ``spec``.

    Parameters
    ----------
    spec : ScriptSpec
        The script.
    names : iterable of str
        The names given (in Unicode normal form C, :func:`nfc`).
    what : str
        How the message names them: ``"Parameter"``, ``"Swept parameter"``, ...

    Raises
    ------
    ValueError
        For a name that is not a parameter, with the closest one and the list of parameters.
    """
    for name in names:
        if name not in spec.params:
            known = ", ".join(spec.params) or "none"
            raise ValueError(
                f"{what} {name!r} not found in script {spec.display_path}.{did_you_mean(name, spec.params)} "
                f"Its parameters are: {known}."
            )


# Reading values from text ------------------------------------------------------------------------
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_value(spec: ScriptSpec, name: str, text: str) -> ParamValue:
    """Read ``text`` as a value of parameter ``name``, by its declared type; never evaluated as code.

    Parameters
    ----------
    spec : ScriptSpec
        The script.
    name : str
        The parameter's name.
    text : str
        The value as typed (on the command line, in a widget).

    Returns
    -------
    bool | int | float | str | None
        The checked value.

    Raises
    ------
    UsageError
        If ``name`` is not a parameter or ``text`` is not a value of its type.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.values import parse_value
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> parse_value(spec, "interpolate_gaps", "false"), parse_value(spec, "threshold", "3")
    (False, 3.0)
    """
    name = nfc(name)
    try:
        unknown_names(spec, [name], "Parameter")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    param = spec.params[name]
    kind = param.type
    value: Any
    try:
        if kind == "int":
            value = int(text)
        elif kind == "float":
            value = float(text)
        elif kind == "bool":
            low = text.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(text)
            value = low in _TRUE
        elif kind == "str":
            value = text
        else:
            value = _guess(text)
    except ValueError:
        wanted = {"int": "a whole number", "float": "a number", "bool": "true or false"}[kind]
        raise UsageError(
            f"Parameter {name!r} of {spec.where(param.line)} is {'an' if kind == 'int' else 'a'} {kind}; "
            f"{text!r} is not {wanted}."
        ) from None
    try:
        return check_value(spec, param, value)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _guess(text: str) -> Any:
    """A value for a parameter of no declared type: number, bool, none, else the text itself."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def split_names(text: str | None) -> list[str] | None:
    """``"a, b"`` as ``["a", "b"]`` (a list of outputs typed as text); None for nothing typed."""
    return [part.strip() for part in text.split(",") if part.strip()] if text else None
