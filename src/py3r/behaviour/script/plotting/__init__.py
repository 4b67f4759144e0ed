"""Plots of :class:`ScriptResults` (matplotlib): sweeps, sampled designs and specification curves.

Figures are built with the object API (:class:`matplotlib.figure.Figure`), not pyplot's global state,
so they work headless, in scripts and in notebooks, and never leak. Only numeric scalar outputs are
plotted; categorical parameters (str, bool) are placed at evenly spaced positions. The kinds live in
:mod:`.sweeps` (lines, heat maps, small multiples, tornado), :mod:`.gsa` (indices, scatter) and
:mod:`.specification`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .common import ScriptResults, numeric_outputs
from .gsa import indices_figure, scatter_figure
from .specification import specification_figure
from .sweeps import SWEEP_KINDS, draw

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_results"]

KINDS = ("auto", *SWEEP_KINDS, "indices", "scatter", "specification")


def plot_results(
    results: ScriptResults,
    outputs: Sequence[str] | None = None,
    *,
    kind: str = "auto",
    figsize: tuple[float, float] | None = None,
    output: str | None = None,
    ci: tuple[str, str] | None = None,
) -> Figure:
    """Plot scalar outputs against the swept parameters, or what a sampled design says.

    Parameters
    ----------
    results : ScriptResults
        The results of :func:`sensitivity` (or of several runs).
    outputs : list of str, optional
        Outputs to plot; by default every numeric scalar output.
    kind : {"auto", "lines", "heatmap", "grid", "tornado", "indices", "scatter", "specification"}
        ``"lines"``: one panel per output and swept parameter, the output against the parameter with
        the others at their nominal values (independent sweeps), the nominal point starred and failed
        points crossed. ``"heatmap"``: a grid sweep over two parameters, one heat map per output.
        ``"grid"``: small multiples of a grid sweep over more parameters. ``"tornado"``: parameters
        ranked by how far each output swings across their range. ``"indices"``: a Sobol' design's
        S1 and ST bars with their 95% intervals, a Morris design's mu*-sigma plane, RBD-FAST bars of
        a random or LHS design (:meth:`ScriptResults.indices`). ``"scatter"``: each output against
        each parameter, one dot per point. ``"specification"``: a specification curve of
        ``output`` (:meth:`ScriptResults.specifications`): the specifications sorted by it, with
        their intervals (``ci``), above a dot matrix of the choices each made, the nominal one
        starred. ``"auto"`` (the default) picks by sweep mode: lines, heat map or small multiples
        for sweeps, indices for Sobol' and Morris designs, scatter for random and LHS ones.
    figsize : (float, float), optional
        Figure size in inches; chosen from the number of panels by default.
    output : str, optional
        The one output of a specification curve (for other kinds, the same as ``outputs=[output]``).
    ci : (str, str), optional
        ``kind="specification"``: the outputs holding the lower and upper end of each interval.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (save it with ``fig.savefig(path)``; in a notebook it displays itself).

    Raises
    ------
    ValueError
        If there is no numeric scalar output or no swept parameter, or ``kind`` does not fit the
        sweep.

    Examples
    --------
    >>> from py3r.behaviour.script import sensitivity
    >>> sr = sensitivity("examples/open_field/pipeline.py", {"threshold": [1.0, 4.0]}, progress=False)
    >>> fig = sr.plot()
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['threshold', 'threshold', 'threshold']

    A specification curve of a grid over choices:

    >>> sr = sensitivity("examples/open_field/pipeline.py",
    ...                  {"smoothing": ["mean", "median"], "interpolate_gaps": [True, False]},
    ...                  mode="grid", progress=False)
    >>> fig = sr.plot(kind="specification", output="fraction_moving")
    >>> fig.axes[1].get_xlabel()
    'specification (ranked by fraction_moving)'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}.")
    params = list(results.param_names)
    if not params or len(results) < 2:
        raise ValueError(
            "These results have no swept parameter to plot against (a single run). "
            "Sweep one with sensitivity(script, {'name': [...]}) first."
        )
    if output is not None:
        if outputs is not None:
            raise ValueError("Give output= (one output) or outputs= (a list), not both.")
        outputs = [output]
    if kind == "specification":
        if outputs is None or len(outputs) != 1:
            raise ValueError(
                "A specification curve plots one output: give output='name' (and ci=('lower', 'upper') "
                "for its intervals)."
            )
        _ensure_notebook_display()
        return specification_figure(results, outputs[0], ci, figsize)
    if ci is not None:
        raise ValueError(f"ci= is an option of kind='specification' (its intervals); got kind={kind!r}.")
    names = numeric_outputs(results, outputs)
    sampled = results.design is not None
    if kind == "auto":
        if sampled:
            kind = "indices" if results.mode in ("sobol", "morris") else "scatter"
        elif results.mode == "grid" and len(params) == 2:
            kind = "heatmap"
        elif results.mode == "grid" and len(params) > 2:
            kind = "grid"
        else:
            kind = "lines"
    if sampled and kind in SWEEP_KINDS:
        raise ValueError(
            f"kind={kind!r} plots independent and grid sweeps; a {results.mode} design plots as "
            "kind='indices' or kind='scatter'."
        )
    _ensure_notebook_display()
    if kind == "indices":
        return indices_figure(results, names, figsize)
    df = results.to_dataframe(names, include_failed=True)  # the indices plot reads none of it
    if kind == "scatter":
        return scatter_figure(results, df, names, figsize)
    return draw(kind, results, df, params, names, figsize)


def _ensure_notebook_display() -> None:
    """In IPython, make sure a returned Figure renders as an image (no pyplot needed)."""
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    formatter = ip.display_formatter.formatters["image/png"]
    try:
        if formatter.lookup_by_type(Figure):
            return  # a printer is registered already
    except KeyError:
        pass
    from IPython.core.pylabtools import print_figure

    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))
