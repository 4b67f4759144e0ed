"""The Sweep tab's sampled designs: their options, and the indices at the end.

In the modes ``"random"``, ``"lhs"``, ``"sobol"`` and ``"morris"`` the tab builds its plan with
:func:`~py3r.behaviour.script.plan_design`: each ticked parameter takes a range or a list of
choices, and the design picks the values. :class:`DesignOptions` holds the widgets of the design's
size (``n``), seed, Morris' levels and Sobol' second order, and a line that says how many runs that
makes (or, in place, why it is not allowed). :func:`indices_view` is what the tab shows when the
design has run: the table of ``results.indices()``, or the library's reason why there is none.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ... import ScriptResults
from ...exceptions import UsageError
from ..options import SAMPLED_MODES
from .render import error_box, table_html

__all__ = ["DEFAULT_N", "DesignOptions", "indices_view"]

#: ``n`` each sampled mode starts with: points, points, base samples (a power of 2), trajectories.
DEFAULT_N = {"random": 100, "lhs": 100, "sobol": 256, "morris": 10}
#: The method behind each mode, as the note names it.
_NAMES = {
    "random": "random points",
    "lhs": "Latin hypercube",
    "sobol": "Sobol' (Saltelli)",
    "morris": "Morris",
}


def _power_of_two(n: int) -> bool:
    return n >= 1 and not n & (n - 1)


class DesignOptions:
    """The widgets of a sampled design's options, and the line that says what they make."""

    def __init__(self) -> None:
        self._n = dict(DEFAULT_N)  # each mode keeps the n last used with it
        self.mode = "lhs"
        self.n = w.IntText(
            value=DEFAULT_N["lhs"],
            description="n",
            tooltip="Points (random, LHS), base samples (Sobol': a power of 2) or trajectories (Morris)",
            layout=w.Layout(width="150px"),
        )
        self.seed = w.Text(
            value="",
            placeholder="new each time",
            description="seed",
            tooltip="The same seed makes the same design (and, with the run store, serves it again)",
            layout=w.Layout(width="230px"),
        )
        self.levels = w.IntText(
            value=4,
            description="levels",
            tooltip="Morris' grid levels: an even number, 4 is usual",
            layout=w.Layout(width="140px"),
        )
        self.second_order = w.Checkbox(
            value=False, description="second order", indent=False, layout=w.Layout(width="130px")
        )
        self.note = w.HTML()
        self.box = w.HBox(
            [self.n, self.seed, self.levels, self.second_order, self.note], layout=w.Layout(display="none")
        )
        self._varied = 0
        self.n.observe(self._n_changed, "value")
        self.second_order.observe(lambda _: self.describe(), "value")

    def _n_changed(self, change: dict[str, Any]) -> None:
        self._n[self.mode] = change["new"]
        self.describe()

    def show(self, mode: str) -> None:
        """Show the options of ``mode`` (none for an independent or grid sweep), and its ``n``."""
        sampled = mode in SAMPLED_MODES
        self.box.layout.display = "" if sampled else "none"
        if sampled:
            self.mode = mode
            self.n.value = self._n[mode]
        self.levels.layout.display = "" if mode == "morris" else "none"
        self.second_order.layout.display = "" if mode == "sobol" else "none"
        self.describe()

    def seed_value(self) -> int | None:
        """The seed typed, or None for a new design each time."""
        text = self.seed.value.strip()
        if not text:
            return None
        if not text.isdigit():
            raise UsageError(
                f"The seed of a design is a whole number, 0 or more (or empty for a new design each "
                f"time); got {text!r}."
            )
        return int(text)

    def options(self) -> dict[str, Any]:
        """The keywords of :func:`plan_design` the widgets give, for the current mode."""
        given: dict[str, Any] = {"n": self.n.value, "seed": self.seed_value()}
        if self.mode == "morris":
            given["levels"] = self.levels.value
        if self.mode == "sobol" and self.second_order.value:
            given["second_order"] = True
        return given

    def describe(self, varied: int | None = None) -> None:
        """Say in place how many runs the options make for ``varied`` parameters, or why they
        are not allowed (a Sobol' ``n`` that is not a power of 2)."""
        if varied is not None:
            self._varied = varied
        mode, n, d = self.mode, self.n.value, self._varied
        if mode == "sobol" and n >= 1 and not _power_of_two(n):
            lower = 1 << (n.bit_length() - 1)
            self.note.value = (
                f"<span class='py3r-note' style='color:#b71c1c'>Sobol' needs n to be a power of 2: "
                f"use {lower} or {lower * 2}.</span>"
            )
            return
        if n < 1:
            self.note.value = "<span class='py3r-note' style='color:#b71c1c'>n must be 1 or more.</span>"
            return
        if mode == "sobol":
            per = 2 * d + 2 if self.second_order.value else d + 2
            runs = f"{n} \u00d7 ({'2D + 2' if self.second_order.value else 'D + 2'}) = {n * per} runs"
        elif mode == "morris":
            runs = f"{n} trajectories \u00d7 (D + 1) = {n * (d + 1)} runs"
        else:
            runs = f"{n} runs"
        where = f"D = {d} parameter{'s' if d > 1 else ''} ticked" if d else "tick the parameters to vary"
        self.note.value = (
            f"<span class='py3r-note'>{_NAMES[mode]}: {runs} ({where}; identical rows run once)</span>"
        )


def indices_view(results: ScriptResults) -> tuple[str, Any]:
    """``(html, table)``: the indices of a design that has run, or why there are none.

    The table is ``results.indices()`` (None when the library refuses: a cancelled design, failed
    points, no numeric output; its message is shown in place).
    """
    design = results.design
    assert design is not None  # only designs have indices
    try:
        table = results.indices()
    except ValueError as exc:
        return error_box("No indices", str(exc)), None
    head = (
        f"<p class='py3r-note'>{html.escape(table.attrs['method'])} indices of {len(design.sample)} "
        f"runs ({len(results)} distinct points), seed {design.seed}</p>"
    )
    return head + table_html(table), table
