"""The panel's Sweep tab: sweeps in the background with a progress bar, a table and a plot."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ... import CancelToken, Iteration, ScriptResults, ScriptSpec, execute_plan, plan_sweep
from ...exceptions import SweepInterruptedWarning, UsageError
from ...values import parse_value
from .background import Background
from .controls import error_box, show_figure

__all__ = ["PLOT_EVERY", "SweepTab"]

#: Seconds between plot refreshes while a sweep runs.
PLOT_EVERY = 0.5


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
        self.token: CancelToken | None = None
        self._build()

    def _build(self) -> None:
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
        self.box = w.VBox(
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

    def values_of(self, name: str, text: str) -> list[Any]:
        """The values typed for ``name``: a list (``1, 2, 4``) or a range (``start:stop:steps``)."""
        text = text.strip()
        if ":" in text and self.spec.params[name].type in ("int", "float", "any"):
            parts = [s.strip() for s in text.split(":")]
            if len(parts) != 3:
                raise UsageError(f"Write a range for {name!r} as start:stop:steps, e.g. 1:8:5; got {text!r}.")
            import numpy as np

            start, stop = (float(parse_value(self.spec, name, s)) for s in parts[:2])  # type: ignore[arg-type]
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
                name: self.values_of(name, text.value)
                for name, (check, text) in self.sweep_rows.items()
                if check.value
            }
            if not swept:
                raise UsageError("Tick at least one parameter and give it values to sweep.")
            nominal = {k: v for k, v in self.live_values().items() if k not in swept}
            plan = plan_sweep(self.spec, swept, nominal=nominal, mode=self.mode.value)
        except (TypeError, ValueError) as exc:
            self.sweep_status.value = error_box("Check the sweep", str(exc))
            return
        token = CancelToken()
        self.token = token
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
                self.refresh(results)

        def work() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SweepInterruptedWarning)
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
            self.results = results
            self.refresh(results)
            failed = len(results.failures)
            if results.interrupted:
                self.progress.bar_style = "warning"
                self.sweep_status.value = f"Cancelled: {sum(it.ok for it in results.iterations)} points kept."
            else:
                self.progress.bar_style = "danger" if failed else "success"
                self.sweep_status.value = f"Done: {len(results)} points, {failed} failed."
            self.start_button.disabled = False
            self.cancel_button.disabled = True

        self.work.spawn(work)

    def cancel_sweep(self) -> None:
        """Stop the running sweep; finished points are kept (what the Cancel button does)."""
        if self.token is not None:
            self.token.cancel()

    def refresh(self, results: ScriptResults) -> None:
        """Redraw the table and the plot of ``results``."""
        try:
            table = results.to_dataframe(outputs=results.scalar_outputs(), include_failed=True)
            table["error"] = table["error"].fillna("")  # blank for the points that ran
            self.sweep_table.value = table.to_html(
                index=False, float_format=lambda x: f"{x:.4g}", max_rows=60
            )
        except TypeError as exc:
            self.sweep_table.value = error_box("No table", str(exc))
        with contextlib.suppress(ValueError):  # not enough points yet, or nothing numeric to plot
            show_figure(self.sweep_plot, results.plot())
