"""What the Sweep tab's boxes say: values to sweep, or what a sampled design varies, as typed.

Independent and grid sweeps take lists (``1, 2, 4``) or evenly spaced ranges (``start:stop:count``);
sampled designs take a range (``low:high``: the design picks the values) or choices (``a, b``).
Ticking a parameter fills in what the script declares: :func:`suggestion` and
:func:`design_suggestion`. Text is parsed by the parameter's type, never evaluated.
"""

from __future__ import annotations

import math
from typing import Any

from ... import ParamSpec, ScriptSpec
from ...exceptions import UsageError
from ...values import parse_value
from ..options import listed_values, text_of
from .controls import slider_range

__all__ = ["design_suggestion", "suggestion", "sweep_values"]


def _enumerated(p: ParamSpec) -> str | None:
    """The values of a parameter that lists them, as typed in a box: its choices, or both bools."""
    if p.choices is not None:
        return ", ".join(text_of(c) for c in p.choices)
    if p.type == "bool":
        return "True, False"
    return None


def suggestion(p: ParamSpec) -> str:
    """What a ticked parameter sweeps unless told otherwise, from what the script declares.

    A declared range in at most 11 values on its step grid; all the choices; both bools; the
    slider's span around the default in 5 values. Empty where nothing is known.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.panel.typed import suggestion
    >>> params = read_script("examples/open_field/pipeline.py").params
    >>> [suggestion(params[n]) for n in ("threshold", "smooth_window", "smoothing", "seed")]
    ['0.0:20.0:11', '1:49:9', 'mean, median', '0:84:5']
    """
    listed = _enumerated(p)
    if listed is not None:
        return listed
    if p.type not in ("int", "float") or not p.has_literal_default:
        return ""
    lo, hi, step, bounded = slider_range(p)
    if not bounded:
        return f"{lo!r}:{hi!r}:5"
    stops = round((hi - lo) / step) + 1
    every = max(1, math.ceil((stops - 1) / 10))
    count = (stops - 1) // every + 1
    stop = lo + (count - 1) * every * step
    stop = int(stop) if p.type == "int" else float(f"{stop:.12g}")
    return f"{lo!r}:{stop!r}:{count}"


def sweep_values(spec: ScriptSpec, name: str, text: str) -> list[Any]:
    """The values typed for ``name``: a list (``1, 2, 4``) or a range (``start:stop:count``).

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.panel.typed import sweep_values
    >>> spec = read_script("examples/open_field/pipeline.py")
    >>> sweep_values(spec, "threshold", "0.1:0.3:3"), sweep_values(spec, "smooth_window", "1, 5")
    ([0.1, 0.2, 0.3], [1, 5])
    """
    text = text.strip()
    if ":" in text and spec.params[name].type in ("int", "float", "any"):
        parts = [s.strip() for s in text.split(":")]
        if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) < 1:
            raise UsageError(f"Write a range for {name!r} as start:stop:count, e.g. 1:8:5; got {text!r}.")
        start, stop = (float(parse_value(spec, name, s)) for s in parts[:2])  # type: ignore[arg-type]
        count = int(parts[2])
        gap = (stop - start) / (count - 1) if count > 1 else 0.0
        values: list[Any] = [float(f"{start + i * gap:.12g}") for i in range(count)]
        if spec.params[name].type == "int":
            values = list(dict.fromkeys(round(v) for v in values))
        return values
    return listed_values(spec, name, text)


def design_suggestion(p: ParamSpec) -> str:
    """What a ticked parameter is sampled over unless told otherwise, as typed in its box.

    The range the script declares (``low:high``, what :func:`plan_design` samples when given just
    the name), its choices, both bools; where a number declares no range, the span of the Live
    tab's slider. Empty where nothing is known.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.panel.typed import design_suggestion
    >>> params = read_script("examples/open_field/pipeline.py").params
    >>> [design_suggestion(params[n]) for n in ("threshold", "smooth_window", "smoothing", "seed")]
    ['0.0:20.0', '1:51', 'mean, median', '0:84']
    """
    listed = _enumerated(p)
    if listed is not None:
        return listed
    if p.type not in ("int", "float") or not p.has_literal_default:
        return ""
    lo, hi = (p.low, p.high) if p.has_range else slider_range(p)[:2]
    cast = int if p.type == "int" else float
    return f"{cast(lo)!r}:{cast(hi)!r}"  # type: ignore[arg-type]
