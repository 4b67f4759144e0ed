"""A parameter's ranges, choices and meaning, read from its ``Param`` call without running anything.

``low=``, ``high=``, ``step=`` and ``choices=`` are constants written out: literals, ``math.pi`` (and
``math.e``, ``math.tau``, ``math.inf``), and arithmetic of them (``2 * 60``, ``-math.pi / 2``),
evaluated here over the syntax tree, never by ``eval``. ``doc=`` is a string literal; without it, the
comment on the ``Param`` line (or the comment line right above it) is the description, read with
:mod:`tokenize` once per script.
"""

from __future__ import annotations

import ast
import io
import math
import operator
import re
import tokenize
from collections.abc import Callable, Iterable
from typing import Any

from .._types import COMPUTED, MISSING
from ..param import limits_text, within
from ..values import fits, is_number

__all__ = ["METADATA", "comments", "constant", "metadata"]

#: The keyword arguments of ``Param`` that carry metadata, in signature order.
METADATA = ("low", "high", "step", "choices", "doc")

#: Named constants a bound may use: ``math.pi`` (numpy's ``np.pi`` is the same number).
_NAMED = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}
_MODULES = {("math",), ("numpy",), ("np",)}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
#: No constant needs more bits than this; it keeps ``10 ** 10 ** 10`` from taking the parser down.
_MAX_BITS = 4096


class _NotConstant(ValueError):
    """An expression that is not a constant this module can read; the message says why."""


def _number(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant):
        if is_number(node.value):
            return node.value  # type: ignore[return-value]
        raise _NotConstant(f"{node.value!r} is not a number")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _number(node.left), _number(node.right)
        if (
            isinstance(node.op, ast.Pow)
            and isinstance(left, int)
            and isinstance(right, int)
            and (right > _MAX_BITS or abs(left).bit_length() * max(right, 0) > _MAX_BITS)
        ):
            raise _NotConstant("it is too large a number")
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise _NotConstant("it divides by zero") from None
        except OverflowError:
            raise _NotConstant("it is too large a number") from None
        if isinstance(value, complex):
            raise _NotConstant("it is not a real number")
        if isinstance(value, int) and value.bit_length() > _MAX_BITS:
            raise _NotConstant("it is too large a number")
        return value  # type: ignore[no-any-return]
    if (
        isinstance(node, ast.Attribute)
        and node.attr in _NAMED
        and isinstance(node.value, ast.Name)
        and (node.value.id,) in _MODULES
    ):
        return _NAMED[node.attr]
    raise _NotConstant("it is not a constant")


def constant(node: ast.expr) -> Any:
    """The value of ``node`` if it is a scalar constant: a literal, or arithmetic of numbers.

    Raises :class:`_NotConstant` otherwise.

    Examples
    --------
    >>> import ast
    >>> from py3r.behaviour.script.spec.meta import constant
    >>> constant(ast.parse("-math.pi / 2", mode="eval").body), constant(ast.parse("2 * 60", mode="eval").body)
    (-1.5707963267948966, 120)
    """
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (bool, str))):
        return node.value
    return _number(node)


# Comments ----------------------------------------------------------------------------------------
#: Comments that are tool directives, not descriptions.
_PRAGMA = re.compile(r"\s*(?:noqa|type:|pragma|fmt:|pylint:|isort:|ruff:|mypy:)", re.IGNORECASE)
_NEWLINE = re.compile(r"\r\n|\r|\n")
_TRAILING_PRAGMA = re.compile(r"\s+#\s*(?:noqa|type:|pragma|fmt:|pylint:)")


def _text(comment: str) -> str | None:
    text = comment.lstrip("#").strip()
    text = _TRAILING_PRAGMA.split(text, maxsplit=1)[0].strip()
    if not text or _PRAGMA.match(text) or not any(ch.isalnum() for ch in text):
        return None  # a directive, or a separator such as "# ------"
    return text


def comments(source: str, lines: Iterable[int]) -> dict[int, tuple[str, bool]]:
    """The comments on ``lines``: ``{line: (text, alone)}``, ``alone`` for a line that is only a comment.

    The source is tokenized once, up to the last line asked for (comments are not in the syntax
    tree). Lines without a ``#`` are never tokenized for.

    Examples
    --------
    >>> from py3r.behaviour.script.spec.meta import comments
    >>> comments("# the window\\nw = 5  # frames\\ns = '# no'\\n", [1, 2, 3])
    {1: ('the window', True), 2: ('frames', False)}
    """
    text_lines = _NEWLINE.split(source)  # Python's line ends only (str.splitlines knows more)
    wanted = {n for n in lines if 0 < n <= len(text_lines) and "#" in text_lines[n - 1]}
    found: dict[int, tuple[str, bool]] = {}
    if not wanted:
        return found
    last = max(wanted)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            row = tok.start[0]
            if row > last:
                break
            if tok.type == tokenize.COMMENT and row in wanted:
                text = _text(tok.string)
                if text is not None:
                    found[row] = (text, not tok.line[: tok.start[1]].strip())
    except (tokenize.TokenError, SyntaxError):
        pass  # keep what was read before the problem: the syntax tree was built, so it is rare
    return found


def description(
    call: ast.Call, found: dict[int, tuple[str, bool]], same_block: Callable[[int, int], bool]
) -> str | None:
    """A ``Param`` call's comment: on its first line, else its last, else the comment line above it."""
    end = call.end_lineno or call.lineno
    for line in dict.fromkeys((call.lineno, end)):
        if line in found and not found[line][1]:
            return found[line][0]
    above = call.lineno - 1
    if above in found and found[above][1] and same_block(above, call.lineno):
        return found[above][0]
    return None


# Reading and checking the metadata of one call ---------------------------------------------------
def _fits(kind: str, value: Any) -> Any:
    """``value`` as a value of a parameter of type ``kind``, or ``MISMATCH``."""
    if not fits(kind, value):
        return _MISMATCH
    return float(value) if kind == "float" else value


_MISMATCH = object()


def _key(value: Any) -> tuple[str, Any]:
    if is_number(value):
        return ("number", "nan" if value != value else value)
    return (type(value).__name__, value)


def metadata(name: str, call: ast.Call, kind: str, default: Any, where: str) -> dict[str, Any]:
    """``low``, ``high``, ``step``, ``choices`` and ``doc`` of one ``Param`` call, checked.

    ``kind`` is the parameter's type name, ``default`` its literal default (``MISSING`` and
    ``COMPUTED`` are not checked) and ``where`` its place for messages. Raises ``ValueError`` for
    anything that cannot be read or that contradicts itself, naming the parameter and its place.
    """
    nodes = {k.arg: k.value for k in call.keywords if k.arg in METADATA}
    found: dict[str, Any] = {}
    head = f"Param {name!r} in {where}"
    for arg in ("low", "high", "step"):
        if arg not in nodes:
            continue
        text = ast.unparse(nodes[arg])
        try:
            value = _number(nodes[arg])
        except _NotConstant as exc:
            raise ValueError(
                f"{head} has {arg}={text}, which cannot be read without running the script ({exc}). "
                f"Write the number out: a literal, math.pi, or arithmetic of them (e.g. {arg}=2 * 60)."
            ) from None
        if kind in ("bool", "str"):
            raise ValueError(
                f"{head} is a {kind}; {arg}= applies only to int and float parameters. "
                "Use choices=[...] to list the values allowed."
            )
        if arg == "step" and (value != value or math.isinf(value) or value <= 0):
            raise ValueError(f"{head} has {arg}={text}; it must be a positive number (or leave it out).")
        if value != value:
            raise ValueError(
                f"{head} has {arg}={text}, which is NaN; a bound must be a number (math.inf for no "
                "limit), or left out."
            )
        if kind == "int" and not isinstance(value, int):
            raise ValueError(f"{head} is an int; {arg}={text} must be a whole number, or left out.")
        if kind == "float":
            try:
                value = float(value)
            except OverflowError:
                raise ValueError(f"{head} has {arg}={text}, too large for a float.") from None
        found[arg] = value
    if found.get("low") is not None and found.get("high") is not None and found["low"] > found["high"]:
        raise ValueError(f"{head} has low={found['low']!r} above high={found['high']!r}. Swap them.")
    if "choices" in nodes:
        found["choices"] = _choices(head, kind, nodes["choices"])
        if any(arg in found for arg in ("low", "high", "step")):
            raise ValueError(
                f"{head} has both choices= and low=/high=/step=. Give either the list of values "
                "allowed, or the range."
            )
    if "doc" in nodes:
        node = nodes["doc"]
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            raise ValueError(
                f"{head} has doc={ast.unparse(node)}, which is not a string literal. Write the "
                'description out, e.g. doc="speed above which the animal moves, in cm/s".'
            )
        found["doc"] = node.value.strip() or None
    limits = (found.get("low"), found.get("high"), found.get("choices"))
    literal = default is not MISSING and default is not COMPUTED
    if literal and limits != (None, None, None) and not within(default, *limits):
        raise ValueError(
            f"{head} has the default {default!r}, which its own limits do not allow: it must be "
            f"{limits_text(*limits)}. Change the default or the limits."
        )
    return found


def _choices(head: str, kind: str, node: ast.expr) -> tuple[Any, ...]:
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise ValueError(
            f"{head} has choices={ast.unparse(node)}, which is not a list written out. List the "
            "values in the call, e.g. choices=['mean', 'median']."
        )
    values: dict[tuple[str, Any], Any] = {}
    for element in node.elts:
        text = ast.unparse(element)
        try:
            value = constant(element)
        except _NotConstant as exc:
            raise ValueError(
                f"{head} has the choice {text}, which cannot be read without running the script "
                f"({exc}). Write each choice out as a literal."
            ) from None
        fitted = _fits(kind, value)
        if fitted is _MISMATCH:
            a = "an" if kind == "int" else "a"
            raise ValueError(f"{head} is {a} {kind}; its choice {text} is not {a} {kind}.")
        values.setdefault(_key(fitted), fitted)
    if not values:
        raise ValueError(f"{head} has choices=[]; list at least one value, or leave choices= out.")
    return tuple(values.values())
