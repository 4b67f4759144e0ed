"""One parameter's control, built from what the script declares at its ``Param`` call.

| declared | control |
|---|---|
| a number with ``low`` and ``high`` | a slider over ``[low, high]``, by ``step`` |
| a number without both | a slider around the default, and a box to type any value |
| ``choices`` | a drop-down |
| a bool | a checkbox |
| anything else | a text box |

A slider's values are ``default + k * step``: the default always lies on the slider's grid, so
the keyboard can step away from it and back. Without ``step=``, an int steps by 1 and a float by a
round number (1, 2 or 5 times a power of ten) that gives 50 or more stops across the range.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from ... import ParamSpec, ScriptSpec
from ...exceptions import UsageError
from ...values import check_value, parse_value
from .render import readable

__all__ = ["Control", "close_tree", "limits_note", "nice_step", "slider_range"]


class _Choice:
    """A drop-down entry that stands for something a drop-down cannot hold as its value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The drop-down entry of a computed default: the script computes the value itself.
SCRIPT_OWN = _Choice("SCRIPT_OWN")
#: The drop-down entry of the choice ``None`` (a drop-down's value None means "nothing chosen").
NONE_CHOICE = _Choice("NONE_CHOICE")

STYLE = {"description_width": "140px"}


def _decimals(x: float) -> int:
    """Digits after the point in the shortest text of ``x`` (``0.05`` -> 2, ``1e-05`` -> 5)."""
    text = repr(float(x))
    mantissa, _, exp = text.partition("e")
    digits = len(mantissa.partition(".")[2].rstrip("0"))
    return max(0, digits - (int(exp) if exp else 0))


def _on_grid(x: float, step: float) -> bool:
    r = x / step
    return abs(r - round(r)) < 1e-6


def nice_step(lo: float, hi: float, default: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) with 50 or more stops across ``[lo, hi]``.

    Preferably one that reaches ``default`` and ``hi`` from ``lo`` exactly.

    Examples
    --------
    >>> from py3r.behaviour.script.frontends.panel.controls import nice_step
    >>> nice_step(0.0, 4.0, 2.0), nice_step(0.05, 0.95, 0.5), nice_step(0.0, 1.0, 0.123)
    (0.05, 0.01, 0.001)
    """
    most = (hi - lo) / 50
    if not most > 0:
        return 1.0
    top = math.floor(math.log10(most))
    candidates = [
        float(f"{m}e{e}") for e in range(top, top - 10, -1) for m in (5, 2, 1) if float(f"{m}e{e}") <= most
    ]
    for reach_high in (True, False):
        for step in candidates:
            if _on_grid(default - lo, step) and (not reach_high or _on_grid(hi - lo, step)):
                return step
    return candidates[0]


def slider_range(p: ParamSpec) -> tuple[Any, Any, Any, bool]:
    """``(min, max, step, bounded)`` of the slider of number parameter ``p``.

    ``bounded`` when the script declares both ``low`` and ``high``: the slider spans them. Else the
    slider spans the default plus or minus its size (at least 10 for an int, 1 for a float), cut
    at a declared bound. Either way, ``min`` and ``max`` lie on the grid ``default + k * step``.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.panel.controls import slider_range
    >>> params = read_script("examples/open_field/pipeline.py").params
    >>> [slider_range(params[n]) for n in ("threshold", "smooth_window", "seed", "centre_fraction")]
    [(0.0, 20.0, 0.5, True), (1, 51, 2, True), (0, 84, 1, False), (0.05, 0.95, 0.05, True)]
    """
    d = p.default
    is_int = p.type == "int"
    low, high = (b if b is not None and math.isfinite(b) else None for b in (p.low, p.high))  # not ±inf
    bounded = p.has_range
    lo: Any
    hi: Any
    if low is not None and high is not None:
        lo, hi = low, high
    else:
        half = max(abs(d), 10) if is_int else (abs(d) or 1.0)
        lo, hi = d - half, d + half
        if low is not None:
            lo = max(lo, low)
        if high is not None:
            hi = min(hi, high)
    if p.step is not None and p.step > 0:
        step = max(1, round(p.step)) if is_int else float(p.step)
    else:
        step = 1 if is_int else nice_step(float(lo), float(hi), float(d))
    # min and max on the default's grid, inside [lo, hi]: the keyboard steps back onto the default.
    lo = d - math.floor((d - lo) / step + 1e-9) * step
    hi = d + math.floor((hi - d) / step + 1e-9) * step
    if is_int:
        return int(lo), int(hi), int(step), bounded
    digits = max(_decimals(step), _decimals(d))
    return round(float(lo), digits), round(float(hi), digits), step, bounded


def limits_note(p: ParamSpec, bounded: bool) -> str:
    """The allowed values in a few words, for the line under a control."""
    if p.choices is not None:
        return ""
    if bounded:
        text = f"{readable(p.low)} to {readable(p.high)}"
    elif p.low is not None:
        text = f"≥ {readable(p.low)}; type any value in the box"
    elif p.high is not None:
        text = f"≤ {readable(p.high)}; type any value in the box"
    elif p.type in ("int", "float") and p.has_literal_default:
        text = "any number: type it in the box"
    elif p.required:
        text = "required"
    elif p.type == "computed":
        text = f"empty: the script's own ({p.default_source})"
    else:
        text = ""
    if p.step is not None:
        text += f", step {readable(p.step)}"
    return text


def close_tree(widget: w.Widget) -> None:
    """Close ``widget``, its children, and their layouts and styles (widgets too, each registered)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for part in ("layout", "style"):
        sub = getattr(widget, part, None)
        if isinstance(sub, w.Widget):
            sub.close()
    w.Widget.close(widget)  # the widget's own close, whatever a subclass (the panel) makes of it


class Control:
    """One parameter's control: ``widget`` holds the value, ``row`` is what the panel shows.

    ``on_refused(message)`` is called when a value typed into the box of an unbounded slider is
    not allowed (the slider keeps its value).
    """

    def __init__(self, spec: ScriptSpec, p: ParamSpec) -> None:
        self.spec, self.param = spec, p
        self.on_refused: Callable[[str], None] = lambda message: None
        self.box: w.Widget | None = None
        self._range: tuple[Any, Any] | None = None
        self._digits = 0
        bounded = False
        tip = self._tooltip()
        if p.choices is not None:
            self.widget: w.Widget = self._dropdown(tip)
        elif p.type in ("int", "float") and p.has_literal_default:
            lo, hi, step, bounded = slider_range(p)
            self._range = (lo, hi)
            common = {
                "value": p.default,
                "min": lo,
                "max": hi,
                "step": step,
                "continuous_update": False,
                "description": p.name,
                "tooltip": tip,
                "style": STYLE,
                "layout": w.Layout(width="420px"),
            }
            if p.type == "int":
                self.widget = w.IntSlider(**common)
                if not bounded:
                    self.box = w.IntText(value=p.default, layout=w.Layout(width="110px"), tooltip=tip)
            else:
                self._digits = min(max(_decimals(step), _decimals(p.default), _decimals(lo)), 8)
                self.widget = w.FloatSlider(**common, readout_format=f".{self._digits}f")
                if not bounded:
                    self.box = w.FloatText(value=p.default, layout=w.Layout(width="110px"), tooltip=tip)
            if self.box is not None:
                self.box.observe(lambda ch: self._typed(ch["new"]), "value")
                self.widget.observe(lambda ch: setattr(self.box, "value", ch["new"]), "value")
        elif p.type == "bool" and p.has_literal_default:
            self.widget = w.Checkbox(
                value=p.default, description=p.name, tooltip=tip, style=STYLE, layout=w.Layout(width="420px")
            )
        else:
            self.widget = w.Text(
                value=self._initial_text(),
                placeholder=self._placeholder(),
                description=p.name,
                tooltip=tip,
                continuous_update=False,
                style=STYLE,
                layout=w.Layout(width="420px"),
            )
        note = " · ".join(s for s in (p.doc or "", limits_note(p, bounded)) if s)
        self.info = w.HTML(
            f"<span class='py3r-note'>{html.escape(note)}</span>", layout=w.Layout(margin="0 0 0 10px")
        )
        # The control (and its box) in a column of one width: the lines beside them align.
        column = w.HBox([self.widget, *([self.box] if self.box else [])], layout=w.Layout(flex="0 0 545px"))
        self.row: w.Widget = w.HBox([column, self.info])

    # Building --------------------------------------------------------------------------------
    def _tooltip(self) -> str:
        p = self.param
        parts = [f"{p.name} ({p.type})" + (f": {p.doc}" if p.doc else "")]
        if p.limited or p.step is not None:
            parts.append(p.describe_limits())
        where = self.spec.where(p.line)  # the file's name is enough here: the panel shows its path
        parts.append(where.replace(self.spec.display_path, Path(self.spec.display_path).name, 1))
        return ". ".join(parts)

    def _dropdown(self, tip: str) -> w.Dropdown:
        p = self.param
        assert p.choices is not None
        texts = all(isinstance(c, str) for c in p.choices)
        options: list[tuple[str, Any]] = [
            (c if texts else repr(c), NONE_CHOICE if c is None else c) for c in p.choices
        ]
        if p.type == "computed":
            options.insert(0, (f"(the script's own: {p.default_source})", SCRIPT_OWN))
        return w.Dropdown(
            options=options,
            value=self._first_choice(),
            description=p.name,
            tooltip=tip,
            style=STYLE,
            layout=w.Layout(width="420px"),
        )

    def _first_choice(self) -> Any:
        """What the drop-down shows at first: the script's own, its default, or None (no choice)."""
        p = self.param
        if p.type == "computed":
            return SCRIPT_OWN
        if p.has_literal_default:
            return NONE_CHOICE if p.default is None else p.default
        return None

    def _initial_text(self) -> str:
        p = self.param
        return p.default if p.type == "str" and isinstance(p.default, str) else ""

    def _placeholder(self) -> str:
        p = self.param
        if p.required:
            return "required: type a value"
        if p.type == "computed":
            return f"leave empty for the script's own ({p.default_source})"
        if p.default is None:
            return "None (any scalar)"
        return ""

    # Values ----------------------------------------------------------------------------------
    def _typed(self, value: Any) -> None:
        """A value typed into the box beside an unbounded slider: the slider's range follows it."""
        s = self.widget
        if value == s.value:
            return
        try:
            value = check_value(self.spec, self.param, value)
        except (TypeError, ValueError) as exc:
            self.on_refused(str(exc))
            return
        step = s.step
        if value > s.max:
            s.max = self._round(s.min + math.ceil((value - s.min) / step - 1e-9) * step)
        if value < s.min:
            s.min = self._round(s.max - math.ceil((s.max - value) / step - 1e-9) * step)
        s.value = value

    def _round(self, x: float) -> Any:
        return round(x) if self.param.type == "int" else round(x, self._digits)

    def value(self) -> tuple[bool, Any]:
        """``(given, value)``: ``given`` is False where the script's own default applies."""
        p = self.param
        widget = self.widget
        if isinstance(widget, w.FloatSlider):
            v = widget.value
            snapped = round(v, self._digits)  # a browser's 0.1 + 0.2 is the grid's 0.3
            return True, snapped if abs(snapped - v) <= 1e-9 * max(1.0, abs(v)) else v
        if isinstance(widget, w.Dropdown):
            if widget.value is SCRIPT_OWN:
                return False, None
            if widget.index is None:
                raise UsageError(f"Parameter {p.name!r} is required: choose a value for it.")
            return True, None if widget.value is NONE_CHOICE else widget.value
        if isinstance(widget, w.Text):
            text = widget.value
            if p.type == "str":
                return True, text
            if text.strip() == "":
                if p.required:
                    raise UsageError(f"Parameter {p.name!r} is required: type a value for it.")
                return False, None
            return True, parse_value(self.spec, p.name, text.strip())
        return True, widget.value

    def reset(self) -> None:
        """Back to the script's default (and, for a slider, its first range)."""
        p = self.param
        widget = self.widget
        if self._range is not None:
            widget.value = p.default
            widget.min, widget.max = self._range
        elif isinstance(widget, w.Dropdown):
            first = self._first_choice()
            if first is None:
                widget.index = None
            else:
                widget.value = first
        elif isinstance(widget, w.Checkbox):
            widget.value = p.default
        else:
            widget.value = self._initial_text()
