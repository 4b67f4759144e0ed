"""The sweep panel: controls built from a script's spec, live reruns and sweeps (ipywidgets 8).

``panel("pipeline.py")`` returns a :class:`SweepPanel`. Its *Live* tab reruns the script through
the warm engine whenever a control changes (debounced; a newer change cancels an older run) and
shows the outputs in place, with a trace of each scalar output against the parameter being moved.
Its *Sweep* tab runs :func:`sensitivity`-style sweeps in the background with a progress bar, and
refreshes the table and the plot as points arrive. The kernel stays responsive throughout: all
work runs in background threads, and every process is started and stopped by the same engine as
:func:`run`.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ._types import ScriptPath
from .cli import UsageError, parse_value
from .discovery import ParamSpec, ScriptSpec, read_script
from .engine import EngineName
from .exceptions import SweepInterruptedWarning
from .execute import CancelToken
from .plan import canonical_key, plan_run, plan_sweep
from .results import Iteration, ScriptResults, is_scalar
from .runner import _execute

__all__ = ["SweepPanel", "panel"]

#: Seconds a control must rest before a rerun starts.
DEBOUNCE = 0.25
#: Seconds between plot refreshes while a sweep runs.
PLOT_EVERY = 0.5


def panel(
    script: ScriptPath, *, engine: EngineName = "auto", cache: Any = True, executor: Any = None
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


def _bounds(p: ParamSpec) -> tuple[float, float]:
    d = p.default if p.has_literal_default and p.type in ("int", "float") else 0
    if d > 0:
        return (0, max(3 * d, 10 if p.type == "int" else 1))
    if d < 0:
        return (3 * d, 0)
    return (0, 10 if p.type == "int" else 1)


DPI = 90


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _show_figure(image: w.Image, fig: Any) -> None:
    """Put ``fig`` in ``image`` at its natural size (never stretched to the cell's width)."""
    image.value = _png(fig)
    image.width = str(int(fig.get_figwidth() * DPI))


def _error_box(title: str, message: str, details: str | None = None) -> str:
    more = (
        f"<details><summary>details</summary><pre>{html.escape(details)}</pre></details>" if details else ""
    )
    return (
        "<div style='border-left:4px solid #c62828;background:#fdecea;padding:6px 10px;margin:4px 0'>"
        f"<b>{html.escape(title)}</b>"
        f"<div style='white-space:pre-wrap'>{html.escape(message)}</div>{more}</div>"
    )


class _Control:
    """One parameter's input widget and how to read a value from it."""

    def __init__(self, spec: ScriptSpec, p: ParamSpec) -> None:
        self.spec, self.param = spec, p
        tip = f"{p.name}: {p.type}, {spec.where(p.line)}"
        style = {"description_width": "140px"}
        layout = w.Layout(width="420px")
        self.bounds: tuple[w.Widget, w.Widget] | None = None
        if p.type in ("int", "float") and p.has_literal_default:
            lo, hi = _bounds(p)
            if p.type == "int":
                self.widget: w.Widget = w.IntSlider(
                    value=p.default,
                    min=int(lo),
                    max=int(hi),
                    step=1,
                    continuous_update=False,
                    description=p.name,
                    tooltip=tip,
                    style=style,
                    layout=layout,
                )
                bound = w.IntText
            else:
                self.widget = w.FloatSlider(
                    value=p.default,
                    min=lo,
                    max=hi,
                    step=(hi - lo) / 200,
                    continuous_update=False,
                    description=p.name,
                    tooltip=tip,
                    style=style,
                    layout=layout,
                    readout_format=".3g",
                )
                bound = w.FloatText
            lo_w = bound(
                value=lo,
                description="min",
                layout=w.Layout(width="120px"),
                style={"description_width": "30px"},
            )
            hi_w = bound(
                value=hi,
                description="max",
                layout=w.Layout(width="120px"),
                style={"description_width": "30px"},
            )
            lo_w.observe(lambda ch: setattr(self.widget, "min", min(ch["new"], self.widget.max)), "value")
            hi_w.observe(lambda ch: setattr(self.widget, "max", max(ch["new"], self.widget.min)), "value")
            self.bounds = (lo_w, hi_w)
            self.row: w.Widget = w.HBox([self.widget, lo_w, hi_w])
        elif p.type == "bool":
            self.widget = w.Checkbox(value=p.default, description=p.name, tooltip=tip, indent=False)
            self.row = self.widget
        else:
            if p.required:
                placeholder, value = "required: type a value", ""
            elif p.type == "computed":
                placeholder, value = f"leave empty for the script's own ({p.default_source})", ""
            elif p.default is None:
                placeholder, value = "None (any scalar)", ""
            else:
                placeholder, value = "", p.default
            self.widget = w.Text(
                value=value,
                placeholder=placeholder,
                description=p.name,
                tooltip=tip,
                continuous_update=False,
                style=style,
                layout=layout,
            )
            self.row = self.widget

    def value(self) -> tuple[bool, Any]:
        """``(given, value)``: ``given`` is False where the script's own default applies."""
        p = self.param
        if isinstance(self.widget, w.Text):
            text = self.widget.value
            if p.type == "str":
                return True, text
            if text.strip() == "":
                if p.required:
                    raise UsageError(f"Parameter {p.name!r} is required: type a value for it.")
                return False, None
            return True, parse_value(self.spec, p.name, text.strip())
        return True, self.widget.value


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
        self, script: ScriptPath, *, engine: EngineName = "auto", cache: Any = True, executor: Any = None
    ) -> None:
        self.spec = read_script(script)
        self.script = str(script)
        self._engine_name = engine
        self._cache = cache
        self._executor = executor
        self.last_run: ScriptResults | None = None
        self.results: ScriptResults | None = None
        self._busy = 0
        self._cond = threading.Condition()
        self._gen = 0
        self._live_token: CancelToken | None = None
        self._sweep_token: CancelToken | None = None
        self._trace: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._moved: str | None = None

        self._controls = {n: _Control(self.spec, p) for n, p in self.spec.params.items()}
        self.controls: dict[str, w.Widget] = {n: c.widget for n, c in self._controls.items()}
        for name, c in self._controls.items():
            c.widget.observe(lambda ch, name=name: self._changed(name), "value")

        self.status = w.HTML()
        self.live_output = w.VBox()
        self.trace_image = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.rerun_button = w.Button(
            description="Run", icon="play", tooltip="Run the script with these values"
        )
        self.rerun_button.on_click(lambda _: self._schedule(0.0))
        live = w.VBox(
            [
                w.HTML(f"<b>{html.escape(self.spec.display_path)}</b>: each change reruns the script."),
                *[c.row for c in self._controls.values()],
                w.HBox([self.rerun_button, self.status]),
                self.live_output,
                self.trace_image,
            ]
        )
        self._build_sweep_tab()
        self.tabs = w.Tab(children=[live, self.sweep_tab], titles=("Live", "Sweep"))
        super().__init__([self.tabs])
        self._schedule(0.0)

    # Background work ---------------------------------------------------------------------------
    def _begin(self) -> None:
        with self._cond:
            self._busy += 1

    def _end(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no rerun or sweep is pending or running; return False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, timeout=timeout)

    def _spawn(self, target: Callable[[], None]) -> None:
        def body() -> None:
            try:
                target()
            finally:
                self._end()

        self._begin()
        threading.Thread(target=body, daemon=True).start()

    # Live tab ----------------------------------------------------------------------------------
    def _changed(self, name: str) -> None:
        self._moved = name
        self._schedule(DEBOUNCE)

    def _schedule(self, delay: float) -> None:
        """Rerun after ``delay`` unless another change comes first (debounce); cancel older runs."""
        with self._cond:
            self._gen += 1
            gen = self._gen
            if self._live_token is not None:
                self._live_token.cancel()  # a newer change wins
            self._busy += 1
        timer = threading.Timer(delay, self._fire, args=(gen,))
        timer.daemon = True
        timer.start()

    def _current(self, gen: int) -> bool:
        with self._cond:
            return gen == self._gen

    def _fire(self, gen: int) -> None:
        try:
            if self._current(gen):  # stale timers do nothing
                self._rerun(gen)
        finally:
            self._end()

    def _values(self) -> dict[str, Any]:
        values = {}
        for name, c in self._controls.items():
            given, value = c.value()
            if given:
                values[name] = value
        return values

    def _rerun(self, gen: int) -> None:
        try:
            values = self._values()
            plan = plan_run(self.spec, values)
        except (UsageError, TypeError, ValueError) as exc:
            self.status.value = ""
            self.live_output.children = [w.HTML(_error_box("Check the values", str(exc)))]
            return
        token = CancelToken()
        with self._cond:
            if gen != self._gen:
                return
            self._live_token = token
        self.status.value = "<i>running…</i>"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SweepInterruptedWarning)  # cancelled by a newer change
            results = _execute(
                plan,
                cache=self._cache,
                retry_failed=True,
                engine=self._engine_name,
                cancel=token,
            )
        if token.is_set() or not self._current(gen):
            return  # a newer change is on its way
        it = results.iterations[0]
        self.last_run = results
        self.status.value = f"<span style='color:#555'>{it.wall_time:.2f} s</span>"
        self._show(it)
        if it.ok:
            self._trace.append((dict(plan.points[0].values), dict(it.outputs)))
            self._draw_trace(values)

    def _show(self, it: Iteration) -> None:
        children: list[w.Widget] = []
        if it.failure is not None:
            f = it.failure
            children.append(
                w.HTML(_error_box("The run failed", f.message, f.traceback or f.stderr_tail or None))
            )
        scalars = {k: v for k, v in it.outputs.items() if is_scalar(v)}
        if scalars:
            rows = "".join(
                f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(_fmt(v))}</td></tr>"
                for k, v in scalars.items()
            )
            children.append(w.HTML(f"<table class='py3r-live-scalars'>{rows}</table>"))
        for name, value in it.outputs.items():
            if name in scalars:
                continue
            if type(value).__name__ == "DataFrame":
                body = value.head(50).to_html(max_cols=12, float_format=lambda x: f"{x:.4g}")
                children.append(
                    w.HTML(
                        f"<p><code>{html.escape(name)}</code> ({len(value)} rows; the first 50)</p>"
                        f"<div style='max-height:240px;overflow:auto'>{body}</div>"
                    )
                )
            elif type(value).__name__ == "Figure" and hasattr(value, "savefig"):
                children.append(
                    w.VBox([w.HTML(f"<code>{html.escape(name)}</code>"), w.Image(value=_png(value))])
                )
            else:
                text = repr(value)
                text = text if len(text) < 2000 else text[:2000] + " …"
                children.append(
                    w.HTML(f"<p><code>{html.escape(name)}</code></p><pre>{html.escape(text)}</pre>")
                )
        self.live_output.children = children

    def _draw_trace(self, current: dict[str, Any]) -> None:
        """Each scalar output against the parameter last moved, over the reruns seen so far."""
        name = self._moved
        if name is None or self.spec.params[name].type not in ("int", "float"):
            return
        others = {k: v for k, v in current.items() if k != name}
        points: dict[Any, dict[str, Any]] = {}
        for values, seen in self._trace:
            rest = {k: v for k, v in values.items() if k != name}
            if name in values and canonical_key(rest) == canonical_key(others):
                points[values[name]] = seen
        outputs = [
            k
            for k, v in self._trace[-1][1].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        if not outputs:
            return
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2.6 * len(outputs), 2.2), layout="constrained")
        axes = fig.subplots(1, len(outputs), squeeze=False)[0]
        xs = sorted(points)
        for ax, out in zip(axes, outputs):
            ax.plot(xs, [points[x].get(out) for x in xs], "-o", ms=4)
            ax.scatter(
                [current[name]],
                [points[current[name]].get(out)],
                marker="*",
                s=120,
                color="#d62728",
                zorder=5,
            )
            ax.set_xlabel(name)
            ax.set_title(out, fontsize=9)
            ax.grid(True, alpha=0.3)
        _show_figure(self.trace_image, fig)

    # Sweep tab ---------------------------------------------------------------------------------
    def _build_sweep_tab(self) -> None:
        self.sweep_rows: dict[str, tuple[w.Checkbox, w.Text]] = {}
        rows = []
        for name, p in self.spec.params.items():
            check = w.Checkbox(value=False, description=name, indent=False, layout=w.Layout(width="180px"))
            hint = "e.g. 1, 2, 4   or   1:8:5 (start:stop:steps)"
            if p.type == "bool":
                hint = "True, False"
            elif p.type == "str":
                hint = "comma-separated values"
            text = w.Text(placeholder=hint, layout=w.Layout(width="320px"), continuous_update=True)
            text.observe(lambda ch, check=check: setattr(check, "value", bool(ch["new"].strip())), "value")
            self.sweep_rows[name] = (check, text)
            rows.append(w.HBox([check, text]))
        self.mode = w.ToggleButtons(options=["independent", "grid"], value="independent", description="mode")
        self.workers = w.BoundedIntText(
            value=1, min=-1, max=64, description="workers", layout=w.Layout(width="160px")
        )
        self.timeout = w.BoundedFloatText(
            value=0, min=0, max=1e6, description="timeout s", layout=w.Layout(width="180px")
        )
        self.start_button = w.Button(description="Start", button_style="primary", icon="play")
        self.cancel_button = w.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="0 / 0", bar_style="")
        self.sweep_status = w.HTML()
        self.sweep_table = w.HTML()
        self.sweep_plot = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.start_button.on_click(lambda _: self.start_sweep())
        self.cancel_button.on_click(lambda _: self.cancel_sweep())
        self.sweep_tab = w.VBox(
            [
                w.HTML("Choose parameters to sweep; the others stay at the values set in the Live tab."),
                *rows,
                w.HBox([self.mode, self.workers, self.timeout]),
                w.HBox([self.start_button, self.cancel_button, self.progress]),
                self.sweep_status,
                self.sweep_plot,
                self.sweep_table,
            ]
        )

    def _sweep_values(self, name: str, text: str) -> list[Any]:
        text = text.strip()
        if ":" in text and self.spec.params[name].type in ("int", "float", "any"):
            parts = [s.strip() for s in text.split(":")]
            if len(parts) != 3:
                raise UsageError(f"Write a range for {name!r} as start:stop:steps, e.g. 1:8:5; got {text!r}.")
            import numpy as np

            start, stop = (float(parse_value(self.spec, name, s)) for s in parts[:2])
            steps = int(parts[2])
            values = np.linspace(start, stop, steps).tolist()
            if self.spec.params[name].type == "int":
                values = list(dict.fromkeys(round(v) for v in values))
            return values
        return [parse_value(self.spec, name, part.strip()) for part in text.split(",") if part.strip()]

    def start_sweep(self) -> None:
        """Start a sweep with the chosen parameters (what the Start button does)."""
        try:
            swept = {
                name: self._sweep_values(name, text.value)
                for name, (check, text) in self.sweep_rows.items()
                if check.value
            }
            if not swept:
                raise UsageError("Tick at least one parameter and give it values to sweep.")
            nominal = {k: v for k, v in self._values().items() if k not in swept}
            plan = plan_sweep(self.spec, swept, nominal=nominal, mode=self.mode.value)
        except (UsageError, TypeError, ValueError) as exc:
            self.sweep_status.value = _error_box("Check the sweep", str(exc))
            return
        token = CancelToken()
        self._sweep_token = token
        self.progress.max = len(plan.points)
        self.progress.value = 0
        self.progress.bar_style = ""
        self.progress.description = f"0 / {len(plan.points)}"
        self.start_button.disabled = True
        self.cancel_button.disabled = False
        self.sweep_status.value = "<i>running…</i>"
        self.sweep_plot.value = b""
        last_plot = [0.0]

        def arrived(it: Iteration, results: ScriptResults) -> None:
            self.results = results
            done = len(results)
            self.progress.value = done
            self.progress.description = f"{done} / {len(plan.points)}"
            if time.monotonic() - last_plot[0] > PLOT_EVERY:
                last_plot[0] = time.monotonic()
                self._refresh_sweep(results)

        def work() -> None:
            timeout = self.timeout.value or None
            workers = self.workers.value if self.workers.value != 0 else 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SweepInterruptedWarning)
                where: dict[str, Any] = (
                    {"executor": self._executor}
                    if self._executor is not None
                    else {"workers": (os.cpu_count() or 1) if workers == -1 else workers}
                )
                results = _execute(
                    plan,
                    cache=self._cache,
                    retry_failed=True,
                    engine=self._engine_name,
                    timeout=timeout,
                    cancel=token,
                    on_iteration=arrived,
                    **where,
                )
            self.results = results
            self._refresh_sweep(results)
            failed = len(results.failures)
            if results.interrupted:
                self.progress.bar_style = "warning"
                self.sweep_status.value = f"Cancelled: {sum(it.ok for it in results.iterations)} points kept."
            else:
                self.progress.bar_style = "danger" if failed else "success"
                self.sweep_status.value = f"Done: {len(results)} points, {failed} failed."
            self.start_button.disabled = False
            self.cancel_button.disabled = True

        self._spawn(work)

    def cancel_sweep(self) -> None:
        """Stop the running sweep; finished points are kept (what the Cancel button does)."""
        if self._sweep_token is not None:
            self._sweep_token.cancel()

    def _refresh_sweep(self, results: ScriptResults) -> None:
        try:
            table = results.to_dataframe(outputs=results.scalar_outputs(), include_failed=True)
            table["error"] = table["error"].fillna("")  # blank for the points that ran
            self.sweep_table.value = table.to_html(
                index=False, float_format=lambda x: f"{x:.4g}", max_rows=60
            )
        except TypeError as exc:
            self.sweep_table.value = _error_box("No table", str(exc))
        with contextlib.suppress(ValueError):  # not enough points yet, or nothing numeric to plot
            _show_figure(self.sweep_plot, results.plot())

    def close(self) -> None:
        """Cancel any work and close the widgets."""
        with self._cond:
            self._gen += 1  # pending reruns will not start
        for token in (self._live_token, self._sweep_token):
            if token is not None:
                token.cancel()
        self.wait(30)
        for c in self._controls.values():
            c.row.close()
        super().close()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)
