"""The panel's Sweep tab: sweeps in the background, with a progress bar, a table and a plot.

The sweep runs in a thread of its own exactly as :func:`sensitivity` runs it; as points arrive it
only moves the progress bar. The table and the plot are redrawn by another thread, throttled
(:class:`~.background.Throttle`), so that drawing never holds the sweep back. Independent and grid
sweeps take lists of values (:func:`plan_sweep`); sampled designs take ranges and choices, and end
with their sensitivity indices (:mod:`.sampled`, :func:`plan_design`).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from ... import (
    CancelToken,
    Iteration,
    ParamSpec,
    Plan,
    ScriptResults,
    ScriptSpec,
    execute_plan,
    plan_design,
    plan_sweep,
)
from ...exceptions import UsageError
from ..options import SAMPLED_MODES, SWEEP_MODES, design_values, text_of
from .background import Background, Throttle
from .controls import limits_note
from .files import export_paths, write_figure, wrote
from .render import CSS, error_box, figure_bytes, show_png, table_html
from .sampled import DesignOptions, indices_view
from .typed import design_suggestion, suggestion, sweep_values

__all__ = ["MODES", "PLOT_EVERY", "SweepTab"]

#: The sweep modes the tab offers, in this order (the mode selector is built from this list):
#: sweeps of lists of values, then sampled designs.
MODES = [*SWEEP_MODES, *SAMPLED_MODES]
#: The options :meth:`SweepTab.fill` takes for sampled designs only.
DESIGN_OPTIONS = ("n", "seed", "levels", "second_order")
#: What Export adds to the table's name for the indices of a sampled design.
INDICES = "-indices.csv"
#: Least seconds between two redraws of the table and the plot while a sweep runs.
PLOT_EVERY = 1.0
#: Most of one core the redraws may take (a redraw that took t seconds waits t / PLOT_SHARE).
PLOT_SHARE = 0.1


class SweepTab:
    """Sweeps chosen parameters with the others at the Live tab's values; the results arrive in
    :attr:`results` as they finish."""

    def __init__(
        self,
        spec: ScriptSpec,
        live_values: Callable[[], dict[str, Any]],
        *,
        engine: str,
        cache: Any,
        executor: Any,
        work: Background,
    ) -> None:
        self.spec = spec
        self.live_values = live_values
        self.engine = engine
        self.cache = cache
        self.executor = executor
        self.work = work
        self.results: ScriptResults | None = None
        #: The plan of the last sweep started.
        self.last_plan: Plan | None = None
        self.token: CancelToken | None = None
        #: The figure last drawn (what Export writes).
        self.figure: Any = None
        #: Seconds the last sweep took, from Start to its last point.
        self.elapsed: float | None = None
        self._given: dict[str, tuple[str, Any]] = {}  # a list to sweep, or a range or choices of a design
        self._running = False
        #: Points of the running sweep that arrived cancelled (never ran).
        self._cancelled = 0
        #: The results of the last sweep once it has ended (None while it runs).
        self._final: ScriptResults | None = None
        #: The sensitivity indices of the last sampled design (None until it has run, or when
        #: the library refuses them: :attr:`indices_html` then says why).
        self.indices: Any = None
        self.redraw = Throttle(work, self._draw, every=PLOT_EVERY, share=PLOT_SHARE)
        self._build()

    def _build(self) -> None:
        self.mode = w.ToggleButtons(
            options=MODES,
            value=MODES[0],
            description="mode",
            tooltips=[
                "one parameter at a time, the others at their nominal values",
                "every combination of the values",
                "n uniform random points over the ranges",
                "n points of a Latin hypercube over the ranges",
                "Sobol' indices: n base samples (a power of 2)",
                "Morris screening: n trajectories",
            ],
            style={"button_width": "104px"},
        )
        self.design = DesignOptions()
        self._family = "sweep"
        self.mode.observe(self._mode_changed, "value")
        self.sweep_rows: dict[str, tuple[w.Checkbox, w.Text]] = {}
        rows = []
        for name, p in self.spec.params.items():
            check = w.Checkbox(value=False, description=name, indent=False, layout=w.Layout(flex="0 0 180px"))
            text = w.Text(
                placeholder=self._hint(p), layout=w.Layout(flex="0 0 340px"), continuous_update=True
            )
            text.observe(lambda ch, check=check: setattr(check, "value", bool(ch["new"].strip())), "value")
            check.observe(lambda ch, text=text, name=name: self._ticked(ch["new"], text, name), "value")
            note = " · ".join(s for s in (p.doc or "", limits_note(p, p.has_range)) if s)
            info = w.HTML(
                f"<span class='py3r-note'>{html.escape(note)}</span>", layout=w.Layout(margin="0 0 0 10px")
            )
            self.sweep_rows[name] = (check, text)
            rows.append(w.HBox([check, text, info]))
        self.workers = w.BoundedIntText(
            value=-1,
            min=-1,
            max=1024,
            description="workers",
            tooltip="Iterations at once on this machine; -1 is one per core",
            layout=w.Layout(width="160px"),
        )
        self.timeout = w.BoundedFloatText(
            value=0,
            min=0,
            max=1e6,
            description="timeout s",
            tooltip="Seconds before an iteration is stopped; 0 is no limit",
            layout=w.Layout(width="180px"),
        )
        self.start_button = w.Button(description="Start", button_style="primary", icon="play")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.export_button = w.Button(
            description="Export",
            icon="download",
            tooltip="Write the table (CSV) and the plot (PNG, SVG) here",
        )
        self.progress = w.IntProgress(value=0, min=0, max=1, description="0 / 0", bar_style="")
        self.sweep_status = w.HTML()
        self.export_status = w.HTML()
        self.sweep_table = w.HTML()
        self.indices_html = w.HTML()
        self.sweep_plot = w.Image(format="png", layout=w.Layout(display="none", max_width="900px"))
        self.start_button.on_click(lambda _: self.start_sweep())
        self.cancel_button.on_click(lambda _: self.cancel_sweep())
        self.export_button.on_click(lambda _: self.export())
        self.box = w.VBox(
            [
                w.HTML(
                    f"{CSS}Tick parameters to sweep (ticking fills in a range from the script's "
                    "declarations); the others stay at the values set in the Live tab. A sampled "
                    "design (random, lhs, sobol, morris) takes a range low:high or choices a, b "
                    "per parameter, and ends with the sensitivity indices."
                ),
                *rows,
                w.HBox([self.mode]),
                w.HBox([self.workers, self.timeout]),
                self.design.box,
                w.HBox([self.start_button, self.cancel_button, self.progress, self.export_button]),
                self.sweep_status,
                self.export_status,
                self.indices_html,
                self.sweep_plot,
                self.sweep_table,
            ]
        )

    def _sampled(self) -> bool:
        return self.mode.value in SAMPLED_MODES

    def _suggest(self, p: ParamSpec, sampled: bool | None = None) -> str:
        """What ticking ``p`` fills in: values to sweep, or what a design samples."""
        sampled = self._sampled() if sampled is None else sampled
        return design_suggestion(p) if sampled else suggestion(p)

    def _hint(self, p: ParamSpec) -> str:
        suggested = self._suggest(p)
        hint = f"e.g. {suggested}" if suggested else "values, comma-separated"
        if suggested and ":" in suggested:
            hint += "  (low:high) or 1, 2, 4" if self._sampled() else "  (start:stop:count) or 1, 2, 4"
        return hint

    def _ticked(self, on: bool, text: w.Text, name: str) -> None:
        suggested = self._suggest(self.spec.params[name])
        if on and not text.value.strip() and suggested:
            text.value = suggested
        self.design.describe(sum(check.value for check, _ in self.sweep_rows.values()))

    def _mode_changed(self, change: dict[str, Any]) -> None:
        """Show the options of the new mode; between sweeps and designs, a parameter's filled-in
        values become the other kind's (``0.0:20.0:11`` <-> ``0.0:20.0``), typed ones stay."""
        family = "design" if change["new"] in SAMPLED_MODES else "sweep"
        if family != self._family:
            self._given.clear()
            for name, (_, text) in self.sweep_rows.items():
                p = self.spec.params[name]
                if text.value and text.value == self._suggest(p, sampled=family == "sweep"):
                    text.value = self._suggest(p, sampled=family == "design")
            self._family = family
            for name, (_, text) in self.sweep_rows.items():
                text.placeholder = self._hint(self.spec.params[name])
        self.design.show(change["new"])

    # Values ------------------------------------------------------------------------------------
    def values_of(self, name: str, text: str) -> list[Any]:
        """The values typed for ``name``: a list (``1, 2, 4``) or a range (``start:stop:count``)."""
        given = self._given.get(name)
        if given is not None and given[0] == text:
            return list(given[1])  # as sweep() was given them, not read back from text
        return sweep_values(self.spec, name, text)

    def fill(
        self,
        params: Mapping[str, Any] | Iterable[str],
        mode: str = "independent",
        *,
        workers: int | None = None,
        timeout: float | None = None,
        **design: Any,
    ) -> None:
        """Set the tab's controls: values (a list, or text as typed) per parameter; a name alone, or
        None for its values, sweeps the script's declared range. In a sampled mode a tuple
        ``(low, high)`` is a range and a list gives choices; ``design`` holds ``n``, ``seed``,
        ``levels`` (Morris) and ``second_order`` (Sobol')."""
        items: dict[str, Any] = dict(params) if isinstance(params, Mapping) else dict.fromkeys(params)
        known = ", ".join(self.spec.params) or "none"
        for name in items:
            if name not in self.spec.params:
                raise UsageError(
                    f"Parameter {name!r} not found in script {self.spec.display_path}. "
                    f"Its parameters are: {known}."
                )
        if mode not in MODES:
            modes = ", ".join(map(repr, MODES[:-1]))
            raise UsageError(f"The panel sweeps in mode {modes} or {MODES[-1]!r}; got {mode!r}.")
        given = {k: v for k, v in design.items() if v is not None}
        if given and mode not in SAMPLED_MODES:
            raise UsageError(
                f"{', '.join(f'{k}=' for k in given)} {'is an option' if len(given) == 1 else 'are options'} "
                f"of the sampled modes ({', '.join(map(repr, SAMPLED_MODES))}); got mode={mode!r}."
            )
        self.mode.value = mode  # first: it turns filled-in values into the mode's kind
        self._given.clear()
        for name, (check, text) in self.sweep_rows.items():
            if name not in items:
                text.value = ""
                check.value = False
                continue
            value = items[name]
            if value is None:
                typed = self._suggest(self.spec.params[name])
                if not typed:
                    raise UsageError(
                        f"Give values for {name!r}: {self.spec.display_path} declares no range or "
                        "choices for it."
                    )
            elif isinstance(value, str):
                typed = value
            elif isinstance(value, tuple) and mode in SAMPLED_MODES:  # a range, kept as given
                typed = ":".join(text_of(v) for v in value)
                self._given[name] = (typed, value)
            else:
                values = list(value)
                typed = ", ".join(text_of(v) for v in values)
                self._given[name] = (typed, values)
            text.value = typed
            check.value = True
        if workers is not None:
            self.workers.value = workers
        if timeout is not None:
            self.timeout.value = timeout
        widgets = {"n": self.design.n, "levels": self.design.levels, "second_order": self.design.second_order}
        for key, value in given.items():
            if key == "seed":
                self.design.seed.value = str(value)
            else:
                widgets[key].value = value

    def plan(self) -> Plan:
        """The checked plan of the sweep the controls describe (raises on a bad value)."""
        ticked = [name for name, (check, _) in self.sweep_rows.items() if check.value]
        if not ticked:
            raise UsageError("Tick at least one parameter and give it values to sweep.")
        texts = {name: self.sweep_rows[name][1].value for name in ticked}
        if self._sampled():  # the values typed first, then the Live tab's for the others
            varied = {name: self.design_values_of(name, text) for name, text in texts.items()}
            nominal = {k: v for k, v in self.live_values().items() if k not in varied}
            options = self.design.options()
            return plan_design(self.spec, varied, mode=self.mode.value, nominal=nominal, **options)
        swept = {name: self.values_of(name, text) for name, text in texts.items()}
        nominal = {k: v for k, v in self.live_values().items() if k not in swept}
        return plan_sweep(self.spec, swept, nominal=nominal, mode=self.mode.value)

    def design_values_of(self, name: str, text: str) -> Any:
        """What a design samples for ``name``: a range ``(low, high)``, a list of choices, or None
        for its declared range."""
        given = self._given.get(name)
        if given is not None and given[0] == text:
            return given[1]
        return design_values(self.spec, name, text, example=design_suggestion(self.spec.params[name]))

    # Running -----------------------------------------------------------------------------------
    def check_idle(self) -> None:
        """Raise if a sweep is running: another may not start before it ends."""
        if self._running:
            raise UsageError("A sweep is running: wait for it, or cancel it, before starting another.")

    def start_sweep(self, *, raise_errors: bool = False) -> None:
        """Start a sweep with the chosen parameters (what the Start button does)."""
        try:
            self.check_idle()
            plan = self.plan()
        except (TypeError, ValueError, ImportError) as exc:  # ImportError: no SALib for a design
            self.sweep_status.value = error_box("Check the sweep", str(exc))
            if raise_errors:
                raise
            return
        self._start(plan)

    def _start(self, plan: Plan) -> None:
        token = CancelToken()
        total = len(plan.points)
        self.token, self.last_plan, self.results, self.figure = token, plan, None, None
        self._running, self._cancelled, self.elapsed = True, 0, None
        self._final, self.indices = None, None
        self.indices_html.value = ""
        self.progress.max, self.progress.value = total, 0
        self.progress.bar_style, self.progress.description = "", f"0 / {total}"
        self.start_button.disabled, self.cancel_button.disabled = True, False
        self.sweep_status.value = "<i>running…</i>"
        self.sweep_table.value = ""
        self.sweep_plot.layout.display = "none"
        started = time.perf_counter()

        def arrived(it: Iteration, results: ScriptResults) -> None:
            self._cancelled += it.status == "cancelled"
            self.results = results
            ran = len(results) - self._cancelled  # those served from the store are in results too
            self.progress.value = ran
            self.progress.description = f"{ran} / {total}"
            self.redraw.request()

        def work() -> None:
            try:
                try:
                    results = execute_plan(
                        plan,
                        cache=self.cache,
                        retry_failed=True,
                        engine=self.engine,
                        workers=self.workers.value or 1,
                        timeout=self.timeout.value or None,
                        cancel=token,
                        on_iteration=arrived,
                        executor=self.executor,
                    )
                except Exception as exc:  # a cluster gone, a store that cannot be opened: say it in place
                    self.sweep_status.value = error_box("The sweep stopped", f"{type(exc).__name__}: {exc}")
                    self.progress.bar_style = "danger"
                    return
                finally:
                    self.elapsed = time.perf_counter() - started
                self._finished(results, total)
            finally:  # only now may Start begin another sweep: it would find this one's end drawn
                self._running = False
                self.start_button.disabled, self.cancel_button.disabled = False, True

        self.work.spawn(work)

    def _finished(self, results: ScriptResults, total: int) -> None:
        self.results = results
        ran = results.ran()
        failed = sum(it.status == "failed" for it in ran.iterations)
        self.progress.value = len(ran)
        self.progress.description = f"{len(ran)} / {total}"
        took = f" Took {self.elapsed:.1f} s." if self.elapsed is not None else ""
        design = results.design
        what = (
            f" A {design.mode} design of {len(design.sample)} rows, seed {design.seed}."
            if design is not None
            else ""
        )
        if results.interrupted:
            self.progress.bar_style = "warning"
            self.sweep_status.value = (
                f"Cancelled: {len(ran)} of {total} points ran ({failed} failed); "
                f"{total - len(ran)} did not run and are left out.{took}{what}"
            )
        else:
            self.progress.bar_style = "danger" if failed else "success"
            self.sweep_status.value = f"Done: {len(results)} points, {failed} failed.{took}{what}"
        self._final = results
        self.redraw.request(urgent=True)

    def cancel_sweep(self) -> None:
        """Stop the running sweep; finished points are kept (what the Cancel button does)."""
        if self.token is not None:
            self.token.cancel()

    # Drawing -----------------------------------------------------------------------------------
    def ran(self) -> ScriptResults | None:
        """The points of the last sweep that ran (finished or failed): the never-run are left out."""
        return None if self.results is None or self.last_plan is None else self.results.ran()

    def _table(self, shown: ScriptResults) -> Any:
        return shown.to_dataframe(outputs=shown.scalar_outputs(), include_failed=True)

    def _figure(self, shown: ScriptResults) -> Any:
        """The plot of the points that ran; for a design, what its results say once it has run
        (Sobol' bars, Morris' plane, a scatter with RBD-FAST's indices), and its cloud till then
        (or when it has no indices: a cancelled design, failed points)."""
        final, plan = self._final, self.last_plan
        if plan is not None and plan.design is not None:
            if final is not None:
                try:
                    return final.plot()
                except ValueError:  # no indices: the cloud of what ran still shows
                    pass
            return shown.plot(kind="scatter")
        return shown.plot()

    def _draw(self) -> None:
        """Redraw the plot and the table of the points that ran so far (the table after the plot:
        once it shows a point, the plot does too); at the end of a design, its indices last (once
        they show, the design's plot does too)."""
        plan, final = self.last_plan, self._final
        shown = self.ran()
        if shown is not None and len(shown):
            try:
                fig = self._figure(shown)
            except ValueError:  # not enough points yet, or nothing numeric to plot
                pass
            else:
                self.figure = fig
                show_png(self.sweep_plot, figure_bytes(fig))
            try:
                df = self._table(shown)
                failed = int((df["status"] != "ok").sum())
                if not failed:
                    df = df.drop(columns="error")  # blank throughout (Export keeps it)
                self.sweep_table.value = (
                    f"<p class='py3r-note'>{len(df)} points ran, {failed} failed</p>"
                    + table_html(df, scroll=True, failed_rows=True)
                )
            except TypeError as exc:
                self.sweep_table.value = error_box("No table", str(exc))
        if final is not None and final.design is not None:
            view, table = indices_view(final)
            if plan is self.last_plan:  # else a new sweep started meanwhile: these are outdated
                self.indices, self.indices_html.value = table, view

    def export(self, directory: str | Path | None = None) -> list[Path]:
        """Write the table of the points that ran as CSV, and the plot as PNG and SVG."""
        shown = self.ran()
        if shown is None or not len(shown):
            self.export_status.value = "<span class='py3r-note'>Nothing to export yet: run a sweep.</span>"
            return []
        csv, png, svg = export_paths(self.spec, "sweep", directory, also=(INDICES,))
        self._table(shown).to_csv(csv, index=False)
        paths = [csv]
        if self.indices is not None:
            indices = csv.with_name(f"{csv.stem}{INDICES}")
            self.indices.to_csv(indices, index=False)
            paths.append(indices)
        if self.figure is not None:
            paths += write_figure(self.figure, png, svg)
        self.export_status.value = wrote(paths)
        return paths
