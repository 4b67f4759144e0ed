"""What every plot shares: figures, styles, which outputs can be plotted, where values go on an axis."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..values import as_python, is_number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: What is plotted: a ScriptResults (typed loosely here: results imports this package to plot itself).
ScriptResults = Any

__all__ = [
    "FAILED_STYLE",
    "LINE_COLOR",
    "NOMINAL_STYLE",
    "ScriptResults",
    "label",
    "new_figure",
    "numeric_outputs",
    "ordered",
    "panels",
    "positions",
    "title",
]

NOMINAL_STYLE: dict[str, Any] = {"marker": "*", "s": 180, "color": "#d62728", "zorder": 5, "label": "nominal"}
FAILED_STYLE: dict[str, Any] = {"marker": "x", "s": 60, "color": "#7f7f7f", "zorder": 4, "label": "failed"}
LINE_COLOR = "#1f77b4"


def new_figure(
    rows: int, cols: int, figsize: tuple[float, float] | None, **kw: Any
) -> tuple[Figure, list[list[Axes]]]:
    """A figure of ``rows`` x ``cols`` axes (a list of rows), sized by their number unless ``figsize``."""
    from matplotlib.figure import Figure

    size = figsize or (min(4.2 * cols, 16), min(3.0 * rows + 0.6, 14))
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, [list(row) for row in axes]


def panels(
    n: int, figsize: tuple[float, float] | None, width: float, height: float, *, pad: float = 0.6
) -> tuple[Figure, list[Axes]]:
    """``n`` axes, at most three to a row, each ``width`` x ``height`` (plus ``pad`` for the figure's
    title) unless ``figsize``; the unused ones of the last row hidden."""
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = new_figure(rows, cols, figsize or (min(width * cols, 16), height * rows + pad))
    flat = list(itertools.chain.from_iterable(axes))
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def numeric_outputs(results: ScriptResults, outputs: Sequence[str] | None) -> list[str]:
    """The outputs to plot: ``outputs`` checked, or every output that is a number wherever it was produced."""
    scalars = results.scalar_outputs()
    if outputs is not None:
        for name in outputs:
            if name not in scalars:
                raise ValueError(
                    f"Output {name!r} cannot be plotted: it is not a scalar in every iteration. "
                    f"Plottable outputs: {', '.join(scalars) or 'none'}."
                )
        names = list(outputs)
    else:
        names = scalars
    numeric = []
    for name in names:
        vals = [it.outputs[name] for it in results.iterations if name in it.outputs]
        if vals and all(is_number(v) or isinstance(as_python(v), bool) for v in vals):
            numeric.append(name)
        elif outputs is not None and not vals:
            raise ValueError(f"Output {name!r} cannot be plotted: no iteration produced it.")
        elif outputs is not None:
            raise ValueError(f"Output {name!r} is not numeric (it holds {type(vals[0]).__name__} values).")
    if not numeric:
        raise ValueError(
            "There is nothing to plot: no output is a number in every completed iteration. "
            f"Outputs: {', '.join(results.output_names) or 'none'}."
        )
    return numeric


def positions(values: list[Any]) -> tuple[list[float], list[str] | None]:
    """x positions for parameter values: the numbers themselves, or evenly spaced categories."""
    if all(map(is_number, values)):
        return [float(v) for v in values], None
    return list(map(float, range(len(values)))), [repr(v) if isinstance(v, str) else str(v) for v in values]


def ordered(values: list[Any]) -> list[Any]:
    """``values`` sorted where they can be, else as they are."""
    try:
        return sorted(values)
    except TypeError:
        return values


def label(value: Any) -> str:
    """A value as a tick label: floats with three significant digits."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def title(results: ScriptResults, prefix: str = "") -> str:
    """The script's file name (after ``prefix``), for a figure's title; "" when it is not known."""
    from pathlib import Path

    return f"{prefix}{Path(results.script).name}" if results.script else ""
