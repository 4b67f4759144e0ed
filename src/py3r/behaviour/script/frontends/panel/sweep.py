"""The panel's Sweep tab: sweeps in the background, with a progress bar, a table and a plot.

The sweep runs in a thread of its own exactly as :func:`sensitivity` runs it; as points arrive it
only moves the progress bar. The table and the plot are redrawn by another thread, throttled
(:class:`~.background.Throttle`), so that drawing never holds the sweep back.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from ... import CancelToken, Iteration, ParamSpec, Plan, ScriptResults, ScriptSpec, execute_plan, plan_sweep
from ...exceptions import UsageError
from ...values import parse_value
from .background import Background, Throttle
from .controls import limits_note, slider_range
from .files import export_paths, write_figure, wrote
from .render import CSS, error_box, figure_bytes, show_png, table_html

__all__ = ["MODES", "PLOT_EVERY", "SweepTab"]

#: The sweep modes the tab offers, in this order (the mode selector is built from this list).
MODES = ["independent", "grid"]
#: Least seconds between two redraws of the table and the plot while a sweep runs.
PLOT_EVERY = 1.0
#: Most of one core the redraws may take (a redraw that took t seconds waits t / PLOT_SHARE).
PLOT_SHARE = 0.1


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def suggestion(p: ParamSpec) -> str:
    """What a ticked parameter sweeps unless told otherwise, from what the script declares.

    A declared range in at most 11 values on its step grid; all the choices; both bools; the
    slider's span around the default in 5 values. Empty where nothing is known.

    Examples
    --------
    >>> from py3r.behaviour.script import read_script
    >>> from py3r.behaviour.script.frontends.panel.sweep import suggestion
    >>> params = read_script("examples/open_field/pipeline.py").params
    >>> [suggestion(params[n]) for n in ("threshold", "smooth_window", "smoothing", "seed")]
    ['0.0:20.0:11', '1:49:9', 'mean, median', '0:84:5']
    """
    if p.choices is not None:
        return ", ".join(_text_of(c) for c in p.choices)
    if p.type == "bool":
        return "True, False"
    if p.type not in ("int", "float") or not p.has_literal_default:
        return ""
    lo, hi, step, bounded = slider_range(p)
    if not bounded:
        return f"{lo!r}:{hi!r}:5"
    stops = round((hi - lo) / step) + 1
    every = max(1, math.ceil((stops - 1) / 10))
    count = (stops - 1) // every + 1
    stop = lo + (count - 1) * every * step
    stop = int(stop) if p.type == "int" else float(f"{stop:.12g}")
    return f"{lo!r}:{stop!r}:{count}"


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
        self._given: dict[str, tuple[str, list[Any]]] = {}
        self._running = False
        self._ran = 0
        self._served: int | None = None
        self.redraw = Throttle(work, self._draw, every=PLOT_EVERY, share=PLOT_SHARE)
        self._build()

    def _build(self) -> None:
        self.sweep_rows: dict[str, tuple[w.Checkbox, w.Text]] = {}
        rows = []
        for name, p in self.spec.params.items():
            check = w.Checkbox(value=False, description=name, indent=False, layout=w.Layout(flex="0 0 180px"))
            suggested = suggestion(p)
            hint = f"e.g. {suggested}" if suggested else "values, comma-separated"
            if suggested and ":" in suggested:
                hint += "  (start:stop:count) or 1, 2, 4"
            text = w.Text(placeholder=hint, layout=w.Layout(flex="0 0 340px"), continuous_update=True)
            text.observe(lambda ch, check=check: setattr(check, "value", bool(ch["new"].strip())), "value")
            check.observe(lambda ch, text=text, s=suggested: self._ticked(ch["new"], text, s), "value")
            note = " · ".join(
                s for s in (p.doc or "", limits_note(p, p.low is not None and p.high is not None)) if s
            )
            info = w.HTML(
                f"<span class='py3r-note'>{html.escape(note)}</span>", layout=w.Layout(margin="0 0 0 10px")
            )
            self.sweep_rows[name] = (check, text)
            rows.append(w.HBox([check, text, info]))
        # Sampled designs join MODES; the selector is built from it.
        self.mode = w.ToggleButtons(options=MODES, value=MODES[0], description="mode")
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
        self.sweep_plot = w.Image(format="png", layout=w.Layout(display="none", max_width="900px"))
        self.start_button.on_click(lambda _: self.start_sweep())
        self.cancel_button.on_click(lambda _: self.cancel_sweep())
        self.export_button.on_click(lambda _: self.export())
        self.box = w.VBox(
            [
                w.HTML(
                    f"{CSS}Tick parameters to sweep (ticking fills in a range from the script's "
                    "declarations); the others stay at the values set in the Live tab."
                ),
                *rows,
                w.HBox([self.mode, self.workers, self.timeout]),
                w.HBox([self.start_button, self.cancel_button, self.progress, self.export_button]),
                self.sweep_status,
                self.export_status,
                self.sweep_plot,
                self.sweep_table,
            ]
        )

    @staticmethod
    def _ticked(on: bool, text: w.Text, suggested: str) -> None:
        if on and not text.value.strip() and suggested:
            text.value = suggested

    # Values ------------------------------------------------------------------------------------
    def values_of(self, name: str, text: str) -> list[Any]:
        """The values typed for ``name``: a list (``1, 2, 4``) or a range (``start:stop:count``)."""
        given = self._given.get(name)
        if given is not None and given[0] == text:
            return list(given[1])  # as sweep() was given them, not read back from text
        text = text.strip()
        if ":" in text and self.spec.params[name].type in ("int", "float", "any"):
            parts = [s.strip() for s in text.split(":")]
            if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) < 1:
                raise UsageError(f"Write a range for {name!r} as start:stop:count, e.g. 1:8:5; got {text!r}.")
            start, stop = (float(parse_value(self.spec, name, s)) for s in parts[:2])  # type: ignore[arg-type]
            count = int(parts[2])
            gap = (stop - start) / (count - 1) if count > 1 else 0.0
            values: list[Any] = [float(f"{start + i * gap:.12g}") for i in range(count)]
            if self.spec.params[name].type == "int":
                values = list(dict.fromkeys(round(v) for v in values))
            return values
        return [parse_value(self.spec, name, part.strip()) for part in text.split(",") if part.strip()]

    def fill(
        self,
        params: Mapping[str, Any] | Iterable[str],
        mode: str = "independent",
        *,
        workers: int | None = None,
        timeout: float | None = None,
    ) -> None:
        """Set the tab's controls: values (a list, or text as typed) per parameter; a name alone, or
        None for its values, sweeps the script's declared range."""
        items: dict[str, Any] = dict(params) if isinstance(params, Mapping) else dict.fromkeys(params)
        known = ", ".join(self.spec.params) or "none"
        for name in items:
            if name not in self.spec.params:
                raise UsageError(
                    f"Parameter {name!r} not found in script {self.spec.display_path}. "
                    f"Its parameters are: {known}."
                )
        if mode not in MODES:
            raise UsageError(f"The panel sweeps in mode {' or '.join(map(repr, MODES))}; got {mode!r}.")
        self._given.clear()
        for name, (check, text) in self.sweep_rows.items():
            if name not in items:
                text.value = ""
                check.value = False
                continue
            value = items[name]
            if value is None:
                typed = suggestion(self.spec.params[name])
                if not typed:
                    raise UsageError(
                        f"Give values for {name!r}: {self.spec.display_path} declares no range or "
                        "choices for it."
                    )
            elif isinstance(value, str):
                typed = value
            else:
                values = list(value)
                typed = ", ".join(_text_of(v) for v in values)
                self._given[name] = (typed, values)
            text.value = typed
            check.value = True
        self.mode.value = mode
        if workers is not None:
            self.workers.value = workers
        if timeout is not None:
            self.timeout.value = timeout

    def plan(self) -> Plan:
        """The checked plan of the sweep the controls describe (raises on a bad value)."""
        swept = {
            name: self.values_of(name, text.value)
            for name, (check, text) in self.sweep_rows.items()
            if check.value
        }
        if not swept:
            raise UsageError("Tick at least one parameter and give it values to sweep.")
        nominal = {k: v for k, v in self.live_values().items() if k not in swept}
        return plan_sweep(self.spec, swept, nominal=nominal, mode=self.mode.value)

    # Running -----------------------------------------------------------------------------------
    def start_sweep(self, *, raise_errors: bool = False) -> None:
        """Start a sweep with the chosen parameters (what the Start button does)."""
        try:
            if self._running:
                raise UsageError("A sweep is running: wait for it, or cancel it, before starting another.")
            plan = self.plan()
        except (TypeError, ValueError) as exc:
            self.sweep_status.value = error_box("Check the sweep", str(exc))
            if raise_errors:
                raise
            return
        self._start(plan)

    def _start(self, plan: Plan) -> None:
        token = CancelToken()
        total = len(plan.points)
        self.token, self.last_plan, self.results, self.figure = token, plan, None, None
        self._running, self._ran, self._served, self.elapsed = True, 0, None, None
        self.progress.max, self.progress.value = total, 0
        self.progress.bar_style, self.progress.description = "", f"0 / {total}"
        self.start_button.disabled, self.cancel_button.disabled = True, False
        self.sweep_status.value = "<i>running…</i>"
        self.sweep_table.value = ""
        self.sweep_plot.layout.display = "none"
        started = time.perf_counter()

        def arrived(it: Iteration, results: ScriptResults) -> None:
            if self._served is None:
                self._served = len(results) - 1  # those served from the store came before
            self._ran += it.status != "cancelled"
            self.results = results
            ran = self._served + self._ran
            self.progress.value = ran
            self.progress.description = f"{ran} / {total}"
            self.redraw.request()

        def work() -> None:
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
                self._running = False
                self.start_button.disabled, self.cancel_button.disabled = False, True
            self._finished(results, total)

        self.work.spawn(work)

    def _finished(self, results: ScriptResults, total: int) -> None:
        self.results = results
        ran = [it for it in results.iterations if it.status != "cancelled"]
        failed = sum(it.status == "failed" for it in ran)
        self.progress.value = len(ran)
        self.progress.description = f"{len(ran)} / {total}"
        took = f" Took {self.elapsed:.1f} s." if self.elapsed is not None else ""
        if results.interrupted:
            self.progress.bar_style = "warning"
            self.sweep_status.value = (
                f"Cancelled: {len(ran)} of {total} points ran ({failed} failed); "
                f"{total - len(ran)} did not run and are left out.{took}"
            )
        else:
            self.progress.bar_style = "danger" if failed else "success"
            self.sweep_status.value = f"Done: {len(results)} points, {failed} failed.{took}"
        self.redraw.request(urgent=True)

    def cancel_sweep(self) -> None:
        """Stop the running sweep; finished points are kept (what the Cancel button does)."""
        if self.token is not None:
            self.token.cancel()

    # Drawing -----------------------------------------------------------------------------------
    def ran(self) -> ScriptResults | None:
        """The points of the last sweep that ran (finished or failed): the never-run are left out."""
        results, plan = self.results, self.last_plan
        if results is None or plan is None:
            return None
        shown = ScriptResults(
            plan.param_names,
            list(plan.capture),
            script=plan.spec.display_path,
            mode=plan.mode,
            nominal=dict(plan.nominal) if plan.nominal else None,
            spec=plan.spec,
        )
        for it in results.iterations:
            if it.status != "cancelled":
                shown.add(it)
        return shown

    def _table(self, shown: ScriptResults) -> Any:
        return shown.to_dataframe(outputs=shown.scalar_outputs(), include_failed=True)

    def _draw(self) -> None:
        """Redraw the plot and the table of the points that ran so far (the table last: once it
        shows a point, the plot does too)."""
        shown = self.ran()
        if shown is None or not len(shown):
            return
        try:
            fig = shown.plot()
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

    def export(self, directory: str | Path | None = None) -> list[Path]:
        """Write the table of the points that ran as CSV, and the plot as PNG and SVG."""
        shown = self.ran()
        if shown is None or not len(shown):
            self.export_status.value = "<span class='py3r-note'>Nothing to export yet: run a sweep.</span>"
            return []
        csv, png, svg = export_paths(self.spec, "sweep", directory)
        self._table(shown).to_csv(csv, index=False)
        paths = [csv]
        if self.figure is not None:
            paths += write_figure(self.figure, png, svg)
        self.export_status.value = wrote(paths)
        return paths
