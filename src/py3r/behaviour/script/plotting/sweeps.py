"""The plots of independent and grid sweeps: lines, heat maps, small multiples, tornado charts.

Figures are built with the object API (:class:`matplotlib.figure.Figure`), not pyplot's global state,
so they work headless, in scripts and in notebooks, and never leak. Only numeric scalar outputs are
plotted; categorical parameters (str, bool) are placed at evenly spaced positions.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from ..values import key_of
from .common import FAILED_STYLE, LINE_COLOR, NOMINAL_STYLE, ScriptResults
from .common import label as _label
from .common import new_figure as _new_figure
from .common import ordered as _ordered
from .common import panels as _panels
from .common import positions as _positions
from .common import title as _title

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["SWEEP_KINDS", "draw"]

#: The kinds of plot of this module.
SWEEP_KINDS = ("lines", "heatmap", "grid", "tornado")


def draw(
    kind: str, results: ScriptResults, df: pd.DataFrame, params: list[str], names: list[str], figsize: Any
) -> Figure:
    """The figure of ``kind`` (one of :data:`SWEEP_KINDS`) for ``df``, the table of ``results``."""
    if kind == "lines":
        return _lines(results, df, params, names, figsize)
    if kind == "heatmap":
        if len(params) != 2:
            raise ValueError(f"A heat map needs a grid sweep over exactly two parameters; got {params}.")
        return _heatmaps(df, params, names, figsize)
    if kind == "grid":
        return _small_multiples(df, params, names, figsize)
    return _tornado(results, df, params, names, figsize)


def _at_nominal(df: pd.DataFrame, nominal: dict[str, Any], others: list[str]) -> pd.Series:
    import pandas as pd

    mask = pd.Series(True, index=df.index)
    for name in others:
        if name in nominal:
            mask &= df[name].map(lambda v, n=nominal[name]: v == n or (v != v and n != n))
    return mask


def _lines(
    results: ScriptResults, df: pd.DataFrame, params: list[str], names: list[str], figsize: Any
) -> Figure:
    nominal = results.nominal or {}
    # One row per output with a shared y axis: how far each parameter moves it reads at a glance.
    fig, axes = _new_figure(len(names), len(params), figsize, sharey="row")
    for col, param in enumerate(params):
        others = [p for p in params if p != param]
        sub = df[_at_nominal(df, nominal, others)] if results.mode != "grid" else df
        values = _ordered(list(dict.fromkeys(sub[param].tolist())))
        xs, labels = _positions(values)
        where = {key_of(v): x for v, x in zip(values, xs)}
        ok = sub[sub["status"] == "ok"]
        for row, name in enumerate(names):
            ax = axes[row][col]
            pts = sorted((where[key_of(v)], y) for v, y in zip(ok[param], ok[name]))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", color=LINE_COLOR, ms=5, lw=1.5)
            if param in nominal and key_of(nominal[param]) in where:
                hit = ok[ok[param].map(key_of) == key_of(nominal[param])]
                if len(hit):
                    ax.scatter([where[key_of(nominal[param])]], [hit[name].iloc[0]], **NOMINAL_STYLE)
            _mark_failed(ax, [where[key_of(v)] for v in sub[sub["status"] == "failed"][param]])
            if labels is not None:
                ax.set_xticks(xs, labels)
            ax.set_xlabel(param)
            ax.set_ylabel(name)
            ax.grid(True, alpha=0.3)
    handles: dict[str, Any] = {}
    for ax in itertools.chain.from_iterable(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(
            handles=list(handles.values()), labels=list(handles), loc="outside upper right", frameon=False
        )
    fig.suptitle(_title(results), x=0.01, ha="left", fontsize=10)
    return fig


def _mark_failed(ax: Axes, xs: list[float]) -> None:
    """Cross out failed points along the bottom of ``ax`` (they have no value to place them by).

    Only points that ran and failed: a point a cancelled sweep never ran (status ``cancelled``)
    is no failure, and is left blank, as in heat maps."""
    if not xs:
        return
    ax.scatter(xs, [0.04] * len(xs), transform=ax.get_xaxis_transform(), **FAILED_STYLE)
    # Drawn in axes height, the crosses are not data: widen the x range to take them in.
    ax.update_datalim([(x, 0.0) for x in xs], updatex=True, updatey=False)
    ax.autoscale_view(scaley=False)


def _heatmaps(df: pd.DataFrame, params: list[str], names: list[str], figsize: Any) -> Figure:
    import numpy as np

    p_row, p_col = params
    rows = _ordered(list(dict.fromkeys(df[p_row].tolist())))
    cols = _ordered(list(dict.fromkeys(df[p_col].tolist())))
    fig, flat = _panels(len(names), figsize, 4.8, 3.8, pad=0.0)

    def ticks(values: list[Any], most: int) -> tuple[list[int], list[str]]:
        """Every value's position, labelled; past ``most`` values, every k-th (the last kept)."""
        every = max(1, math.ceil(len(values) / most))
        at = [i for i in range(len(values)) if i % every == 0 or i == len(values) - 1]
        if len(at) > 1 and at[-1] - at[-2] < every:
            at.pop(-2)  # the last value's label would crowd its neighbour's
        return at, [_label(values[i]) for i in at]

    row_of, col_of = ({key_of(v): k for k, v in reversed(list(enumerate(vs)))} for vs in (rows, cols))
    cells = [
        (row_of[key_of(r)], col_of[key_of(c)], status)
        for r, c, status in zip(df[p_row], df[p_col], df["status"])
    ]
    failed = [(j, i) for i, j, status in cells if status == "failed"]  # a cancelled point's cell stays blank
    for ax, name in zip(flat, names):
        grid = np.full((len(rows), len(cols)), np.nan)
        for (i, j, status), value in zip(cells, df[name]):
            if status == "ok":
                grid[i, j] = value
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        fig.colorbar(image, ax=ax, label=name)
        if grid.size <= 64:
            mid = np.nanmin(grid) + (np.nanmax(grid) - np.nanmin(grid)) / 2 if np.isfinite(grid).any() else 0
            for (i, j), v in np.ndenumerate(grid):
                if not np.isnan(v):
                    colour = "black" if v > mid else "white"  # readable on viridis' light and dark ends
                    ax.text(j, i, _number(v), ha="center", va="center", fontsize=8, color=colour)
        if failed:
            ax.scatter([f[0] for f in failed], [f[1] for f in failed], **{**FAILED_STYLE, "color": "#d62728"})
            ax.set_title(f"\u00d7 {len(failed)} failed", loc="right", fontsize=8, color="#d62728")
        at, labels = ticks(cols, 12)
        long = max(map(len, labels), default=0) > 4 and len(labels) > 3
        ax.set_xticks(
            at, labels, rotation=45 if long else 0, ha="right" if long else "center", rotation_mode="anchor"
        )
        ax.set_yticks(*ticks(rows, 16))
        ax.set_xlabel(p_col)
        ax.set_ylabel(p_row)
        ax.set_title(name)
    return fig


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _small_multiples(df: pd.DataFrame, params: list[str], names: list[str], figsize: Any) -> Figure:
    x, hue, *rest = params
    panels = list(dict.fromkeys(tuple(r) for r in df[rest].itertuples(index=False))) if rest else [()]
    panels = panels[:6]
    fig, axes = _new_figure(len(names), len(panels), figsize)
    xs_all = _ordered(list(dict.fromkeys(df[x].tolist())))
    xs, labels = _positions(xs_all)
    where = {key_of(v): p for v, p in zip(xs_all, xs)}
    hues = _ordered(list(dict.fromkeys(df[hue].tolist())))
    for col, panel in enumerate(panels):
        sub = df
        for name, value in zip(rest, panel):
            sub = sub[sub[name].map(key_of) == key_of(value)]
        for row, out in enumerate(names):
            ax = axes[row][col]
            for h in hues:
                part = sub[(sub[hue].map(key_of) == key_of(h)) & (sub["status"] == "ok")]
                pts = sorted((where[key_of(v)], y) for v, y in zip(part[x], part[out]))
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", ms=4, label=f"{hue}={_label(h)}")
            _mark_failed(ax, [where[key_of(v)] for v in sub[sub["status"] == "failed"][x]])
            if labels is not None:
                ax.set_xticks(xs, labels)
            ax.set_xlabel(x)
            ax.set_ylabel(out)
            ax.grid(True, alpha=0.3)
            if row == 0 and rest:
                ax.set_title(", ".join(f"{n}={_label(v)}" for n, v in zip(rest, panel)), fontsize=9)
    axes[0][-1].legend(fontsize=8, frameon=False)
    return fig


def _tornado(
    results: ScriptResults, df: pd.DataFrame, params: list[str], names: list[str], figsize: Any
) -> Figure:
    """For each parameter, the change in each output when the parameter alone moves from its nominal
    value to the lowest value swept (upper bar) and to the highest (lower bar), ranked by the larger
    change. An end that failed, or did not run, is a gap with a note."""
    nominal = results.nominal
    if not nominal or any(p not in nominal for p in params):
        raise ValueError(
            "A tornado chart needs the nominal value of every swept parameter: run an independent "
            "sweep (mode='independent'), or give nominal= for each swept parameter."
        )
    ok = df[df["status"] == "ok"]
    centre = ok[_at_nominal(ok, nominal, params)]
    if centre.empty:
        raise ValueError("The nominal point did not complete, so there is nothing to compare swings to.")
    low_colour, high_colour = "#4c72b0", "#dd8452"
    fig, axes = _new_figure(1, len(names), figsize or (min(5.0 * len(names), 16), 0.7 * len(params) + 2.2))
    # Per parameter, the rows of its lowest and highest values with the others at nominal.
    swings = []
    for p in params:
        sub = df[_at_nominal(df, nominal, [q for q in params if q != p])]
        values = _ordered(list(dict.fromkeys(sub[p].tolist())))
        at_ends = [sub[sub[p].map(key_of) == key_of(value)].iloc[0] for value in (values[0], values[-1])]
        swings.append((p, list(zip((values[0], values[-1]), at_ends))))
    gaps = 0
    for ax, name in zip(axes[0], names):
        base = float(centre[name].iloc[0])
        bars = []
        for p, at_ends in swings:
            ends = []
            for value, row in at_ends:
                change = float(row[name]) - base if row["status"] == "ok" else None
                ends.append((value, change, "failed" if row["status"] == "failed" else "not run"))
            bars.append((max((abs(c) for _, c, _ in ends if c is not None), default=0.0), p, ends))
        bars.sort(key=lambda b: b[0])
        for pos, (_size, p, ends) in enumerate(bars):
            for (value, change, why), colour, offset in zip(ends, (low_colour, high_colour), (0.2, -0.2)):
                if change is None:
                    gaps += 1
                    ax.text(
                        0,
                        pos + offset,
                        f" {p}={_label(value)} {why}",
                        va="center",
                        fontsize=7,
                        color="#7f7f7f",
                        style="italic",
                    )
                    continue
                drawn = ax.barh(pos + offset, change, height=0.38, color=colour)
                ax.bar_label(drawn, [f"{p}={_label(value)}"], padding=3, fontsize=7, color="#444444")
        ax.set_yticks(range(len(bars)), [b[1] for b in bars])
        ax.axvline(0, color="black", lw=1)
        ax.margins(x=0.25)
        ax.set_xlabel(
            f"change in {name} from {_number(base)} at nominal\n\u2190 {name} fell \u00b7 rose \u2192"
        )
        ax.set_title(name)
        ax.grid(True, axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    handles = [
        Patch(color=low_colour, label="parameter moved to the lowest value swept"),
        Patch(color=high_colour, label="parameter moved to the highest value swept"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    note = f"; {gaps} end(s) failed or did not run (gaps)" if gaps else ""
    fig.suptitle(f"Swing of each output across each parameter's range{_title(results, prefix=': ')}{note}")
    return fig
