"""The plots of sampled designs: Sobol' bars, Morris' mu*-sigma plane, scatter of outputs against inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..values import key_of
from .common import LINE_COLOR, ScriptResults, new_figure, ordered, panels, positions, title

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["indices_figure", "scatter_figure"]

#: The colours of first-order and total indices.
FIRST, TOTAL = "#1f77b4", "#ff7f0e"


def indices_figure(results: ScriptResults, names: list[str], figsize: Any) -> Figure:
    """What :meth:`ScriptResults.indices` says, one panel per output.

    Sobol': S1 and ST of each parameter as bars with their 95% intervals. Morris: each parameter in
    the (mu*, sigma) plane, mu*'s interval as a horizontal bar, and the line sigma = mu* (above it,
    the effect depends on where the others are: nonlinear or interacting). Random and LHS designs:
    RBD-FAST's S1 as bars.
    """
    table = results.indices(names)
    mode = results.design.mode
    params = results.design.names
    width = max(3.6, 0.9 * len(params) + 1.5) if mode != "morris" else 4.4
    fig, axes = panels(len(names), figsize, width, 3.6)
    for ax, name in zip(axes, names):
        rows = table[table["output"] == name].set_index("param").loc[params]
        if mode == "morris":
            _morris(ax, rows, params)
        else:
            _bars(ax, rows, params, total=mode == "sobol")
        ax.set_title(name)
    method = table.attrs["method"]
    fig.suptitle(f"{method}, {len(results.design.sample)} runs{title(results, prefix=': ')}", fontsize=10)
    return fig


def _bars(ax: Axes, rows: pd.DataFrame, params: list[str], *, total: bool) -> None:
    import numpy as np

    xs = np.arange(len(params))
    shift = 0.2 if total else 0.0
    ax.bar(
        xs - shift, rows["S1"], 0.4, yerr=rows["S1_conf"], capsize=3, color=FIRST, label="S1 (first order)"
    )
    if total:
        ax.bar(xs + shift, rows["ST"], 0.4, yerr=rows["ST_conf"], capsize=3, color=TOTAL, label="ST (total)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(
        xs,
        params,
        rotation=30 if max(map(len, params)) > 8 else 0,
        ha="right" if max(map(len, params)) > 8 else "center",
    )
    ax.set_ylabel("share of the output's variance")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)


def _morris(ax: Axes, rows: pd.DataFrame, params: list[str]) -> None:
    mu_star, sigma = rows["mu_star"], rows["sigma"]
    ax.errorbar(
        mu_star, sigma, xerr=rows["mu_star_conf"], fmt="o", color=LINE_COLOR, ecolor="#9ecae1", capsize=3
    )
    top = max(float(mu_star.max()), float(sigma.max()), 1e-12) * 1.1
    placed: list[tuple[float, float]] = []  # labels, in fractions of the axes
    for p in sorted(params, key=lambda q: (float(sigma[q]), float(mu_star[q]))):
        x, y = float(mu_star[p]) / top, float(sigma[p]) / top
        lift = 0
        while any(abs(x - a) < 0.2 and abs(y + lift * 0.045 - b) < 0.04 for a, b in placed):
            lift += 1  # stack labels of points close together instead of printing them over each other
        placed.append((x, y + lift * 0.045))
        ax.annotate(
            p, (mu_star[p], sigma[p]), textcoords="offset points", xytext=(5, 4 + 9 * lift), fontsize=8
        )
    ax.plot([0, top], [0, top], "--", color="#7f7f7f", lw=1, label="sigma = mu*")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("mu* (mean |elementary effect|)")
    ax.set_ylabel("sigma (spread of the effects)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper left")


def scatter_figure(results: ScriptResults, df: pd.DataFrame, names: list[str], figsize: Any) -> Figure:
    """Each output against each parameter, one dot per completed point (a design's cloud).

    The title counts the points left out: those that failed, and apart from them those a cancelled
    sweep never ran (no failures)."""
    params = list(results.param_names)
    fig, axes = new_figure(len(names), len(params), figsize, sharey="row")
    ok = df[df["status"] == "ok"]
    measured = _rbd(results, names)
    for col, param in enumerate(params):
        values = ordered(list(dict.fromkeys(ok[param].tolist())))
        xs, labels = positions(values)
        where = {key_of(v): x for v, x in zip(values, xs)}
        for row, name in enumerate(names):
            ax = axes[row][col]
            ax.scatter([where[key_of(v)] for v in ok[param]], ok[name], s=10, alpha=0.6, color=LINE_COLOR)
            if (name, param) in measured:
                ax.set_title(f"S1 = {measured[name, param]:.2f}", fontsize=8, loc="right")
            if labels is not None:
                ax.set_xticks(xs, labels)
            ax.set_xlabel(param)
            ax.set_ylabel(name)
            ax.grid(True, alpha=0.3)
    failed = int((df["status"] == "failed").sum())
    not_run = int((df["status"] == "cancelled").sum())  # a cancelled design's points that never ran
    left = [f"{failed} failed" if failed else "", f"{not_run} not run" if not_run else ""]
    note = f" ({', '.join(s for s in left if s)}, not shown)" if failed or not_run else ""
    fig.suptitle(f"{len(ok)} points{note}{title(results, prefix=': ')}", x=0.01, ha="left", fontsize=10)
    return fig


def _rbd(results: ScriptResults, names: list[str]) -> dict[tuple[str, str], float]:
    """RBD-FAST's S1 of each (output, parameter) where a random or LHS design can give it."""
    design = results.design
    if design is None or design.mode not in ("random", "lhs"):
        return {}
    try:
        table = results.indices(names)
    except ValueError:  # failed or missing points: the cloud still shows what ran
        return {}
    return {(r.output, r.param): float(r.S1) for r in table.itertuples()}
