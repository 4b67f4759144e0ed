"""The panel's Live tab: a rerun whenever a control changes, its outputs in place, and a trace plot."""

from __future__ import annotations

import html
import threading
import warnings
from typing import Any

import ipywidgets as w

from ... import CancelToken, Iteration, ScriptResults, ScriptSpec, SpilledOutput, execute_plan, plan_run
from ...exceptions import SweepInterruptedWarning
from ...values import format_value, is_scalar, value_key
from .background import Background
from .controls import Control, error_box, png, show_figure

__all__ = ["DEBOUNCE", "LiveTab"]

#: Seconds a control must rest before a rerun starts.
DEBOUNCE = 0.25


class LiveTab:
    """Reruns the script through the warm engine whenever a control changes (debounced; a newer
    change cancels an older run) and shows the outputs, with a trace of each scalar output against
    the parameter being moved."""

    def __init__(
        self, spec: ScriptSpec, controls: dict[str, Control], *, engine: str, cache: Any, work: Background
    ) -> None:
        self.spec = spec
        self.controls = controls
        self.engine = engine
        self.cache = cache
        self.work = work
        self.last_run: ScriptResults | None = None
        self._gen = 0
        self._token: CancelToken | None = None
        self._trace: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._moved: str | None = None
        for name, c in controls.items():
            c.widget.observe(lambda ch, name=name: self._changed(name), "value")
        self.status = w.HTML()
        self.live_output = w.VBox()
        self.trace_image = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self.rerun_button = w.Button(
            description="Run", icon="play", tooltip="Run the script with these values"
        )
        self.rerun_button.on_click(lambda _: self.schedule(0.0))
        self.box = w.VBox(
            [
                w.HTML(f"<b>{html.escape(spec.display_path)}</b>: each change reruns the script."),
                *[c.row for c in controls.values()],
                w.HBox([self.rerun_button, self.status]),
                self.live_output,
                self.trace_image,
            ]
        )

    def values(self) -> dict[str, Any]:
        """The values the controls give (parameters left to the script's own default are absent)."""
        values = {}
        for name, c in self.controls.items():
            given, value = c.value()
            if given:
                values[name] = value
        return values

    # Scheduling --------------------------------------------------------------------------------
    def _changed(self, name: str) -> None:
        self._moved = name
        self.schedule(DEBOUNCE)

    def schedule(self, delay: float) -> None:
        """Rerun after ``delay`` unless another change comes first (debounce); cancel older runs."""
        with self.work.cond:
            self._gen += 1
            gen = self._gen
            if self._token is not None:
                self._token.cancel()  # a newer change wins
        self.work.begin()
        timer = threading.Timer(delay, self._fire, args=(gen,))
        timer.daemon = True
        timer.start()

    def _current(self, gen: int) -> bool:
        with self.work.cond:
            return gen == self._gen

    def _fire(self, gen: int) -> None:
        try:
            if self._current(gen):  # stale timers do nothing
                self._rerun(gen)
        finally:
            self.work.end()

    def stop(self) -> None:
        """Pending reruns will not start; a running one is cancelled."""
        with self.work.cond:
            self._gen += 1
        if self._token is not None:
            self._token.cancel()

    # Running -----------------------------------------------------------------------------------
    def _rerun(self, gen: int) -> None:
        try:
            values = self.values()
            plan = plan_run(self.spec, values)
        except (TypeError, ValueError) as exc:
            self.status.value = ""
            self.live_output.children = [w.HTML(error_box("Check the values", str(exc)))]
            return
        token = CancelToken()
        with self.work.cond:
            if gen != self._gen:
                return
            self._token = token
        self.status.value = "<i>running…</i>"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SweepInterruptedWarning)  # cancelled by a newer change
            results = execute_plan(
                plan, cache=self.cache, retry_failed=True, engine=self.engine, cancel=token
            )
        if token.is_set() or not self._current(gen):
            return  # a newer change is on its way
        it = results.iterations[0]
        self.last_run = results
        self.status.value = f"<span style='color:#555'>{it.wall_time:.2f} s</span>"
        self._show(it)
        if it.ok:
            scalars = {k: v for k, v in it.outputs.items() if is_scalar(v)}  # all the trace draws
            self._trace.append((dict(plan.points[0].values), scalars))
            self._draw_trace(values)

    def _show(self, it: Iteration) -> None:
        children: list[w.Widget] = []
        if it.failure is not None:
            f = it.failure
            children.append(
                w.HTML(error_box("The run failed", f.message, f.traceback or f.stderr_tail or None))
            )
        scalars = {k: v for k, v in it.outputs.items() if is_scalar(v)}
        if scalars:
            rows = "".join(
                f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(format_value(v))}</td></tr>"
                for k, v in scalars.items()
            )
            children.append(w.HTML(f"<table class='py3r-live-scalars'>{rows}</table>"))
        for name, value in it.outputs.items():
            if name in scalars:
                continue
            if isinstance(value, SpilledOutput):  # shown, never loaded: it may be larger than memory
                children.append(
                    w.HTML(
                        f"<p><code>{html.escape(name)}</code>: a {html.escape(value.type_name)} of "
                        f"{value.nbytes / 2**20:.1f} MiB, kept on disk (beyond max_memory); "
                        "<code>panel.last_run</code> indexes it.</p>"
                    )
                )
            elif type(value).__name__ == "DataFrame":
                body = value.head(50).to_html(max_cols=12, float_format=lambda x: f"{x:.4g}")
                children.append(
                    w.HTML(
                        f"<p><code>{html.escape(name)}</code> ({len(value)} rows; the first 50)</p>"
                        f"<div style='max-height:240px;overflow:auto'>{body}</div>"
                    )
                )
            elif type(value).__name__ == "Figure" and hasattr(value, "savefig"):
                children.append(
                    w.VBox([w.HTML(f"<code>{html.escape(name)}</code>"), w.Image(value=png(value))])
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
            if name in values and value_key(rest) == value_key(others):
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
        show_figure(self.trace_image, fig)
