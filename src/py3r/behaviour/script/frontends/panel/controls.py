"""The panel's building blocks: one parameter's control, figures as images, error boxes."""

from __future__ import annotations

import html
import io
from typing import Any

import ipywidgets as w

from ... import ParamSpec, ScriptSpec
from ...exceptions import UsageError
from ...values import parse_value

__all__ = ["DPI", "Control", "error_box", "png", "show_figure"]

#: Resolution of the figures the panel shows.
DPI = 90


def png(fig: Any) -> bytes:
    """``fig`` as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def show_figure(image: w.Image, fig: Any) -> None:
    """Put ``fig`` in ``image`` at its natural size (never stretched to the cell's width)."""
    image.value = png(fig)
    image.width = str(int(fig.get_figwidth() * DPI))


def error_box(title: str, message: str, details: str | None = None) -> str:
    """A red box of HTML: a title, a message and, folded, details (a traceback)."""
    more = (
        f"<details><summary>details</summary><pre>{html.escape(details)}</pre></details>" if details else ""
    )
    return (
        "<div style='border-left:4px solid #c62828;background:#fdecea;padding:6px 10px;margin:4px 0'>"
        f"<b>{html.escape(title)}</b>"
        f"<div style='white-space:pre-wrap'>{html.escape(message)}</div>{more}</div>"
    )


def _bounds(p: ParamSpec) -> tuple[float, float]:
    d = p.default if p.has_literal_default and p.type in ("int", "float") else 0
    if d > 0:
        return (0, max(3 * d, 10 if p.type == "int" else 1))
    if d < 0:
        return (3 * d, 0)
    return (0, 10 if p.type == "int" else 1)


class Control:
    """One parameter's input widget (``widget``), its row in the panel, and how to read its value."""

    def __init__(self, spec: ScriptSpec, p: ParamSpec) -> None:
        self.spec, self.param = spec, p
        tip = f"{p.name}: {p.type}, {spec.where(p.line)}"
        style = {"description_width": "140px"}
        layout = w.Layout(width="420px")
        self.bounds: tuple[w.Widget, w.Widget] | None = None
        if p.type in ("int", "float") and p.has_literal_default:
            lo, hi = _bounds(p)
            if p.type == "int":
                self.widget: w.Widget = w.IntSlider(
                    value=p.default,
                    min=int(lo),
                    max=int(hi),
                    step=1,
                    continuous_update=False,
                    description=p.name,
                    tooltip=tip,
                    style=style,
                    layout=layout,
                )
                bound = w.IntText
            else:
                self.widget = w.FloatSlider(
                    value=p.default,
                    min=lo,
                    max=hi,
                    step=(hi - lo) / 200,
                    continuous_update=False,
                    description=p.name,
                    tooltip=tip,
                    style=style,
                    layout=layout,
                    readout_format=".3g",
                )
                bound = w.FloatText
            lo_w = bound(
                value=lo,
                description="min",
                layout=w.Layout(width="120px"),
                style={"description_width": "30px"},
            )
            hi_w = bound(
                value=hi,
                description="max",
                layout=w.Layout(width="120px"),
                style={"description_width": "30px"},
            )
            lo_w.observe(lambda ch: setattr(self.widget, "min", min(ch["new"], self.widget.max)), "value")
            hi_w.observe(lambda ch: setattr(self.widget, "max", max(ch["new"], self.widget.min)), "value")
            self.bounds = (lo_w, hi_w)
            self.row: w.Widget = w.HBox([self.widget, lo_w, hi_w])
        elif p.type == "bool":
            self.widget = w.Checkbox(value=p.default, description=p.name, tooltip=tip, indent=False)
            self.row = self.widget
        else:
            if p.required:
                placeholder, value = "required: type a value", ""
            elif p.type == "computed":
                placeholder, value = f"leave empty for the script's own ({p.default_source})", ""
            elif p.default is None:
                placeholder, value = "None (any scalar)", ""
            else:
                placeholder, value = "", p.default
            self.widget = w.Text(
                value=value,
                placeholder=placeholder,
                description=p.name,
                tooltip=tip,
                continuous_update=False,
                style=style,
                layout=layout,
            )
            self.row = self.widget

    def value(self) -> tuple[bool, Any]:
        """``(given, value)``: ``given`` is False where the script's own default applies."""
        p = self.param
        if isinstance(self.widget, w.Text):
            text = self.widget.value
            if p.type == "str":
                return True, text
            if text.strip() == "":
                if p.required:
                    raise UsageError(f"Parameter {p.name!r} is required: type a value for it.")
                return False, None
            return True, parse_value(self.spec, p.name, text.strip())
        return True, self.widget.value
