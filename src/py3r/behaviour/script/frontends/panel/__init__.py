"""The sweep panel: controls built from a script's spec, live reruns and sweeps (ipywidgets 8).

``panel("pipeline.py")`` returns a :class:`SweepPanel`. Its *Live* tab (:mod:`.live`) reruns the
script whenever a control changes and shows the outputs in place; its *Sweep* tab (:mod:`.sweep`)
runs sweeps in the background with a progress bar, and refreshes the table and the plot as points
arrive. The kernel stays responsive throughout: all work runs in background threads, and every
process is started and stopped by :func:`~py3r.behaviour.script.execute_plan`, as for :func:`run`.
"""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as w

from ... import ScriptResults, read_script
from .background import Background
from .controls import Control
from .live import LiveTab
from .sweep import SweepTab

__all__ = ["SweepPanel", "panel"]


def panel(
    script: str | os.PathLike[str], *, engine: str = "auto", cache: Any = True, executor: Any = None
) -> SweepPanel:
    """A panel of controls for ``script``: live reruns and sweeps, in a notebook.

    Parameters
    ----------
    script : str or Path
        A script with ``Param``/``Output`` calls.
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
    >>> sorted(p.controls)[:3]
    ['centre_fraction', 'interpolate_gaps', 'seed']
    >>> p.close()
    """
    return SweepPanel(script, engine=engine, cache=cache, executor=executor)


class SweepPanel(w.VBox):
    """Live reruns and sweeps of one script, as a widget. Build it with :func:`panel`.

    Attributes
    ----------
    spec : ScriptSpec
        The script's parameters and outputs.
    controls : dict of str to Widget
        The input widget of each parameter.
    live_output : ipywidgets.VBox
        Where the live tab shows the last rerun's outputs.
    last_run : ScriptResults or None
        The results of the last completed live rerun.
    results : ScriptResults or None
        The results of the last sweep (also while it runs: points arrive in it).
    """

    def __init__(
        self, script: str | os.PathLike[str], *, engine: str = "auto", cache: Any = True, executor: Any = None
    ) -> None:
        self.spec = read_script(script)
        self.script = str(script)
        self._work = Background()
        self._controls = {n: Control(self.spec, p) for n, p in self.spec.params.items()}
        self.controls: dict[str, w.Widget] = {n: c.widget for n, c in self._controls.items()}
        self.live = LiveTab(self.spec, self._controls, engine=engine, cache=cache, work=self._work)
        self.sweep = SweepTab(
            self.spec, self.live.values, engine=engine, cache=cache, executor=executor, work=self._work
        )
        # The widgets tests, notebooks and users reach for, by the names they have always had.
        for name in ("status", "live_output", "trace_image", "rerun_button"):
            setattr(self, name, getattr(self.live, name))
        for name in (
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
        ):
            setattr(self, name, getattr(self.sweep, name))
        self.tabs = w.Tab(children=[self.live.box, self.sweep.box], titles=("Live", "Sweep"))
        super().__init__([self.tabs])
        self.live.schedule(0.0)

    @property
    def last_run(self) -> ScriptResults | None:
        """The results of the last completed live rerun."""
        return self.live.last_run

    @property
    def results(self) -> ScriptResults | None:
        """The results of the last sweep (also while it runs: points arrive in it)."""
        return self.sweep.results

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no rerun or sweep is pending or running; return False on timeout."""
        return self._work.wait(timeout)

    def start_sweep(self) -> None:
        """Start a sweep with the chosen parameters (what the Start button does)."""
        self.sweep.start_sweep()

    def cancel_sweep(self) -> None:
        """Stop the running sweep; finished points are kept (what the Cancel button does)."""
        self.sweep.cancel_sweep()

    def close(self) -> None:
        """Cancel any work and close the widgets."""
        self.live.stop()
        self.sweep.cancel_sweep()
        self.wait(30)
        for c in self._controls.values():
            c.row.close()
        super().close()
