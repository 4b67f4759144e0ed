"""The sweep panel: controls built from a script's spec, live reruns and sweeps (ipywidgets 8).

``panel("pipeline.py")`` returns a :class:`SweepPanel`. Its *Live* tab (:mod:`.live`) reruns the
script as soon as a control changes and shows the outputs in place; its *Sweep* tab (:mod:`.sweep`)
runs sweeps in the background with a progress bar, and refreshes the table and the plot as points
arrive. The kernel stays responsive throughout: all work runs in background threads, and every
process is started and stopped by :func:`~py3r.behaviour.script.execute_plan`, as for :func:`run`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets as w

from ... import ScriptResults, ScriptSpec, read_script
from .background import Background
from .controls import Control, close_tree
from .live import LiveTab
from .render import CSS, error_box
from .sweep import DESIGN_OPTIONS, SweepTab

__all__ = ["SweepPanel", "panel"]

#: The widgets of the tabs that the panel shows under the names they have always had.
_LIVE_NAMES = ("status", "live_output", "trace_image", "rerun_button", "reset_button", "compare_button")
_SWEEP_NAMES = (
    "sweep_rows",
    "mode",
    "workers",
    "timeout",
    "start_button",
    "cancel_button",
    "progress",
    "sweep_status",
    "sweep_table",
    "sweep_plot",
    "indices_html",
)


def panel(
    script: str | os.PathLike[str], *, engine: str = "auto", cache: Any = True, executor: Any = None
) -> SweepPanel:
    """A panel of controls for ``script``: live reruns and sweeps, in a notebook.

    Parameters
    ----------
    script : str or Path
        A script with ``Param``/``Output`` calls. A script that cannot be read (missing, does not
        parse, a bad ``Param`` call) gives a panel that says why, in one line, as the magics do;
        the exception is its ``error``.
    engine : {"auto", "fork", "subprocess"}, default "auto"
        How processes are made (see :func:`run`).
    cache : True, path or None, default True
        The run store the panel reads and fills (see :func:`run`): moving a slider back to a value
        seen before shows its result at once. True is ``.py3r-runs/`` in the working directory
        (or ``$PY3R_SCRIPT_STORE``); None keeps nothing. Stored failures are always run again.
    executor : dask.distributed.Client or concurrent.futures.Executor, optional
        Run the Sweep tab's iterations there (live reruns stay local, where they are fastest).

    Returns
    -------
    SweepPanel
        The widget; display it as a cell's last expression.

    Examples
    --------
    >>> from py3r.behaviour.script import panel
    >>> p = panel("examples/open_field/pipeline.py")
    >>> p.controls["threshold"].min, p.controls["threshold"].max, p.controls["threshold"].step
    (0.0, 20.0, 0.5)
    >>> p.close()
    >>> bad = panel("missing.py")
    >>> print(bad.error)  # doctest: +ELLIPSIS
    Script 'missing.py' does not exist (looked in ...). Check the path.
    >>> bad.close()
    """
    return SweepPanel(script, engine=engine, cache=cache, executor=executor)


class SweepPanel(w.VBox):
    """Live reruns and sweeps of one script, as a widget. Build it with :func:`panel`.

    Attributes
    ----------
    spec : ScriptSpec or None
        The script's parameters and outputs (None when the script could not be read).
    error : Exception or None
        Why the script could not be read (the panel shows it), or None.
    controls : dict of str to Widget
        The widget that holds each parameter's value (``.value``; a slider has ``min``, ``max``
        and ``step``).
    live_output : ipywidgets.VBox
        Where the live tab shows the last rerun's outputs.
    last_run : ScriptResults or None
        The results of the last live rerun shown.
    results : ScriptResults or None
        The results of the last sweep (also while it runs: points arrive in it).
    indices : pandas.DataFrame or None
        The sensitivity indices of the last sampled design, once it has run (None when there are
        none: ``indices_html`` shows the library's reason).
    live_tab, sweep_tab : LiveTab, SweepTab
        The two tabs, with their widgets (``sweep_tab.export_button``, ``live_tab.box``, ...),
        ``export(directory=None)`` (what Export does; it returns the paths written) and the
        ``figure`` last drawn. None when the script could not be read.
    """

    def __init__(
        self, script: str | os.PathLike[str], *, engine: str = "auto", cache: Any = True, executor: Any = None
    ) -> None:
        self.script = str(script)
        self._work = Background()
        self.error: Exception | None = None
        self.spec: ScriptSpec | None = None
        self.controls: dict[str, w.Widget] = {}
        self.live_tab: LiveTab | None = None
        self.sweep_tab: SweepTab | None = None
        try:
            self.spec = read_script(script)
        except (OSError, SyntaxError, ValueError) as exc:  # what the magics show as one line, too
            self.error = exc
            super().__init__([w.HTML(CSS + error_box("Cannot read the script", str(exc)))])
            return
        self._controls = {n: Control(self.spec, p) for n, p in self.spec.params.items()}
        self.controls = {n: c.widget for n, c in self._controls.items()}
        self.live_tab = LiveTab(self.spec, self._controls, engine=engine, cache=cache, work=self._work)
        self.sweep_tab = SweepTab(
            self.spec, self.live_tab.values, engine=engine, cache=cache, executor=executor, work=self._work
        )
        for name in _LIVE_NAMES:
            setattr(self, name, getattr(self.live_tab, name))
        for name in _SWEEP_NAMES:
            setattr(self, name, getattr(self.sweep_tab, name))
        self.tabs = w.Tab(children=[self.live_tab.box, self.sweep_tab.box], titles=("Live", "Sweep"))
        super().__init__([self.tabs])
        self.live_tab.request()

    @property
    def last_run(self) -> ScriptResults | None:
        """The results of the last live rerun shown."""
        return self.live_tab.last_run if self.live_tab else None

    @property
    def results(self) -> ScriptResults | None:
        """The results of the last sweep (also while it runs: points arrive in it)."""
        return self.sweep_tab.results if self.sweep_tab else None

    @property
    def indices(self) -> Any:
        """The sensitivity indices of the last sampled design once it has run (a DataFrame), or None."""
        return self.sweep_tab.indices if self.sweep_tab else None

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no rerun, sweep or redraw is pending or running; return False on timeout."""
        return self._work.wait(timeout)

    def reset(self) -> None:
        """Every control back to the script's default, then one rerun (what Reset does)."""
        self._tabs()[0].reset()

    def start_sweep(self) -> None:
        """Start a sweep with the chosen parameters (what the Start button does)."""
        self._tabs()[1].start_sweep()

    def sweep(self, params: Mapping[str, Any] | Iterable[str], mode: str = "independent", **kw: Any) -> None:
        """Fill the Sweep tab and start it: the twin of ticking, typing and pressing Start.

        Parameters
        ----------
        params : dict or list of str
            Per parameter, the values to sweep: a list, or text as typed in the tab (``"1:8:5"``,
            ``"1, 2, 4"``). A name alone (or None as its values) sweeps the range the script
            declares for it. The others keep the Live tab's values. In a sampled mode, a tuple
            ``(low, high)`` (or ``"low:high"``) is a range and a list gives choices, as for
            :func:`plan_design`; a name alone samples its declared range.
        mode : {"independent", "grid", "random", "lhs", "sobol", "morris"}, default "independent"
            As for :func:`sensitivity`. A sampled design ends with its indices (:attr:`indices`)
            and their plot.
        **kw
            ``workers`` (default -1: one per core) and ``timeout`` (seconds), as in the tab; for
            a sampled mode ``n`` (default: the tab's, 100 points, 256 Sobol' base samples or 10
            Morris trajectories), ``seed`` (default: a new one), ``levels`` (Morris) and
            ``second_order`` (Sobol').

        Raises
        ------
        ValueError
            If a name, value or option is not allowed (the tab shows it too); nothing starts.

        Examples
        --------
        >>> from py3r.behaviour.script import panel
        >>> p = panel("examples/open_field/pipeline.py", cache=None)
        >>> p.sweep({"threshold": [1.0, 4.0]}, workers=1)
        >>> p.wait()
        True
        >>> len(p.results), p.progress.description
        (3, '3 / 3')

        A sampled design, ending with its indices:

        >>> p.sweep(["threshold", "smooth_window"], mode="morris", n=4, seed=1, workers=1)
        >>> p.wait()
        True
        >>> p.indices.columns.tolist()[:3], p.results.design.seed
        (['output', 'param', 'mu_star'], 1)
        >>> p.close()
        """
        unknown = set(kw) - {"workers", "timeout", *DESIGN_OPTIONS}
        if unknown:
            raise TypeError(
                "sweep() takes workers=, timeout=, n=, seed=, levels= and second_order=; "
                f"got {', '.join(sorted(unknown))}."
            )
        tab = self._tabs()[1]
        try:
            tab.check_idle()  # first: a refused call leaves the running sweep's controls as they are
            tab.fill(params, mode, **kw)
        except ValueError as exc:
            tab.sweep_status.value = error_box("Check the sweep", str(exc))
            raise
        tab.start_sweep(raise_errors=True)

    def cancel_sweep(self) -> None:
        """Stop the running sweep; finished points are kept (what the Cancel button does)."""
        if self.sweep_tab is not None:
            self.sweep_tab.cancel_sweep()

    def _tabs(self) -> tuple[LiveTab, SweepTab]:
        if self.live_tab is None or self.sweep_tab is None:
            raise ValueError(f"This panel has no controls: {self.error}")
        return self.live_tab, self.sweep_tab

    def close(self) -> None:
        """Cancel any work and close every widget the panel made."""
        if self.comm is None:
            return  # closed already (ipywidgets also closes a widget when it is collected)
        if self.live_tab is not None and self.sweep_tab is not None:
            self.live_tab.stop()
            self.sweep_tab.cancel_sweep()
            self.sweep_tab.redraw.stop()
            if not sys.is_finalizing():
                self.wait(30)
        close_tree(self)
