"""What the front ends parse alike: the optional directory of ``--cache``, sizes, and the values
typed for a sweep or a sampled design (the command line's ``-p``, the panel's boxes)."""

from __future__ import annotations

from typing import Any

from ..exceptions import UsageError
from ..settings import parse_size
from ..spec import ParamSpec, ScriptSpec
from ..values import nfc, parse_value

__all__ = [
    "SAMPLED_MODES",
    "SWEEP_MODES",
    "design_values",
    "listed_values",
    "parse_size",
    "split_script_and_cache",
    "split_values",
    "text_of",
]

#: The modes of sweeps of lists of values, then those of sampled designs (as :func:`sensitivity`
#: takes them), in the order the front ends offer them.
SWEEP_MODES = ("independent", "grid")
SAMPLED_MODES = ("random", "lhs", "sobol", "morris")


def split_script_and_cache(
    script: str | None, cache: bool | str | None
) -> tuple[str | None, bool | str | None]:
    """The script path, given back where a bare ``--cache`` took it as its directory.

    ``--cache`` takes an optional DIR, so ``run --cache pipeline.py`` reads ``pipeline.py`` as the
    store. A script file is no store: it is the script, and the store is the default one.

    Examples
    --------
    >>> from py3r.behaviour.script.frontends.options import split_script_and_cache
    >>> split_script_and_cache(None, "pipeline.py")
    ('pipeline.py', True)
    >>> split_script_and_cache("pipeline.py", "runs")
    ('pipeline.py', 'runs')
    """
    if script is None and isinstance(cache, str) and cache.endswith((".py", ".ipynb")):
        return cache, True
    return script, cache


def text_of(value: Any) -> str:
    """A value as typed in a box: text as it is, anything else by its repr."""
    return value if isinstance(value, str) else repr(value)


def split_values(p: ParamSpec | None, text: str) -> list[str]:
    """``text`` split at its commas, except inside a declared choice (``a, b, c`` for the choices
    ``a`` and ``b, c`` is two values): what ticking fills in for choices reads back as them.
    Each part is stripped; empty parts are dropped. ``p`` is None for a name the script lacks.

    Examples
    --------
    >>> from py3r.behaviour.script import ParamSpec
    >>> from py3r.behaviour.script.frontends.options import split_values
    >>> split_values(ParamSpec("word", "a", "str", 1, choices=("a", "b, c")), "b, c, a")
    ['b, c', 'a']
    """
    parts = [part.strip() for part in text.split(",")]
    known = {text_of(c) for c in (p.choices if p is not None else None) or ()}
    values, i = [], 0
    while i < len(parts):
        ends = [j for j in range(len(parts), i + 1, -1) if ", ".join(parts[i:j]) in known]
        j = ends[0] if ends else i + 1
        values.append(", ".join(parts[i:j]))
        i = j
    return [v for v in values if v]


def listed_values(spec: ScriptSpec, name: str, text: str) -> list[Any]:
    """The values of a list typed for ``name`` (``1, 2, 4``), each read by the parameter's type.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.options import listed_values
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> listed_values(spec, "smooth_window", "1, 5"), listed_values(spec, "smoothing", "mean,median")
    ([1, 5], ['mean', 'median'])
    """
    p = spec.params.get(nfc(name))
    return [parse_value(spec, name, part) for part in split_values(p, text)]


def design_values(spec: ScriptSpec, name: str, text: str, *, example: str = "") -> Any:
    """What a sampled design varies for ``name``, as typed: a range ``(low, high)`` from
    ``low:high``, a list of choices from ``a, b, c``, or None (empty: the range its ``Param``
    declares). ``example`` is the range a refused one suggests instead.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.options import design_values
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> design_values(spec, "threshold", "0.5:8"), design_values(spec, "smoothing", "mean, median")
    ((0.5, 8.0), ['mean', 'median'])
    """
    text = text.strip()
    if not text:
        return None
    p = spec.params.get(nfc(name))
    if ":" in text and p is not None and p.type not in ("str", "bool"):
        parts = [s.strip() for s in text.split(":")]
        if len(parts) != 2:
            example = example or (f"{p.low!r}:{p.high!r}" if p.has_range else "0:10")
            raise UsageError(
                f"In a sampled design, write a range for {name!r} as low:high (the design picks the "
                f"values), e.g. {example}, or choices as a, b, c; got {text!r}."
            )
        return tuple(parse_value(spec, name, s) for s in parts)
    return listed_values(spec, name, text)
