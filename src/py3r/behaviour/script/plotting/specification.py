"""A specification curve (Simonsohn, Simmons & Nelson 2020): every specification's result, sorted.

Above, each specification's output (and interval), in increasing order, the nominal specification
starred and a line at 0 when the results cross it. Below, a dot matrix: which value of each swept
parameter each specification used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..values import key_of
from .common import NOMINAL_STYLE, ScriptResults, label, ordered, title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["specification_figure"]

#: Specifications with the reference's sign, and the others.
SAME, OTHER = "#1f77b4", "#ff7f0e"


def specification_figure(
    results: ScriptResults, output: str, ci: tuple[str, str] | None, figsize: Any
) -> Figure:
    """The specification curve of ``output`` (intervals from the ``ci`` outputs) above its dot matrix."""
    import numpy as np
    from matplotlib.figure import Figure

    table = results.specifications(output, ci)
    params = list(results.param_names)
    levels = [(p, v) for p in params for v in ordered(list(dict.fromkeys(table[p].tolist())))]
    n = len(table)
    size = figsize or (min(max(6.0, 0.16 * n + 3), 16), 3.2 + 0.22 * len(levels) + 0.8)
    fig = Figure(figsize=size, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3.2, 0.22 * len(levels) + 0.4])
    xs = table["rank"].to_numpy()
    ys = table[output].to_numpy()
    colours = np.where(table["same_sign"], SAME, OTHER)
    if ci is not None:
        lo, hi = table[ci[0]].to_numpy(), table[ci[1]].to_numpy()
        clear = np.where(table["excludes_zero"], SAME, np.where((lo > 0) | (hi < 0), OTHER, "#bdbdbd"))
        top.vlines(xs, lo, hi, colors=clear, lw=1.5)  # grey: the interval includes 0
    top.scatter(xs, ys, c=colours, s=16, zorder=3)
    low_end = (lo if ci is not None else ys).min()
    high_end = (hi if ci is not None else ys).max()
    if low_end < 0 < high_end:
        top.axhline(0, color="black", lw=0.8)
    marked = table[table["nominal"]]
    for rank, value in zip(marked["rank"], marked[output]):
        top.scatter([rank], [value], **NOMINAL_STYLE)
        bottom.axvline(rank, color=NOMINAL_STYLE["color"], alpha=0.25, lw=4)
    top.set_ylabel(output)
    top.grid(True, axis="y", alpha=0.3)
    if len(marked):
        top.legend(fontsize=8, frameon=False, loc="upper left")
    row_of = {(p, key_of(v)): i for i, (p, v) in enumerate(levels)}
    dots = [
        (x, row_of[p, key_of(v)]) for x, (_, r) in zip(xs, table.iterrows()) for p in params for v in [r[p]]
    ]
    bottom.scatter([d[0] for d in dots], [d[1] for d in dots], s=12, color="#252525", marker="o")
    bottom.set_yticks(range(len(levels)), [f"{p} = {label(v)}" for p, v in levels], fontsize=8)
    bottom.set_ylim(len(levels) - 0.5, -0.5)
    bottom.set_xlabel(f"specification (ranked by {output})")
    bottom.grid(True, axis="x", alpha=0.2)
    fig.suptitle(_summary(table, output) + title(results, prefix=" · "), x=0.01, ha="left", fontsize=10)
    return fig


def _summary(table: Any, output: str) -> str:
    attrs = table.attrs
    sign = {1: "positive", -1: "negative"}.get(attrs["sign"], "zero")
    text = (
        f"{attrs['share_same_sign']:.0%} of {len(table)} specifications give a {sign} {output} "
        f"(as the {attrs['reference']} does)"
    )
    if "share_excludes_zero" in attrs:
        text += f"; {attrs['share_excludes_zero']:.0%} with an interval that excludes 0"
    if attrs["failed"]:
        text += f"; {attrs['failed']} failed, not shown"
    if attrs["not_run"]:
        text += f"; {attrs['not_run']} not run (cancelled), not shown"
    return text
