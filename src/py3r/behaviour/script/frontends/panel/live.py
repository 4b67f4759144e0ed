"""The panel's Live tab: a rerun as soon as a control changes, its outputs in place, and a trace.

Reruns start at once when nothing runs (leading edge). A change made while a rerun goes cancels
it (it is outdated), and the changes made until it has stopped coalesce into one rerun with the
latest values. Outputs are shown by the thread that ran them, as soon as they arrive; the trace
plot is drawn after, in a thread of its own, and never delays them.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as w

from ... import CancelToken, Iteration, ScriptResults, ScriptSpec, execute_plan, plan_run
from ...values import format_value, is_number, is_scalar, key_of, value_key
from .background import Background, Throttle
from .controls import Control
from .files import export_paths, write_figure, wrote
from .render import CSS, error_box, figure_bytes, outputs_html, scalars_html, show_png

__all__ = ["RESEND_AFTER", "TRACE_REST", "LiveTab"]

#: Seconds the controls rest before the trace is redrawn.
TRACE_REST = 0.3
#: Seconds after the first rerun is shown at which its widgets' state is sent once more.
RESEND_AFTER = 3.0


@dataclass
class _Run:
    """What the trace and the export keep of one live rerun (its scalars only: reruns add up)."""

    values: dict[str, Any]
    status: str
    scalars: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    wall_time: float = 0.0
    cached: bool = False


class LiveTab:
    """Reruns the script through the warm engine whenever a control changes, and shows the outputs
    with a trace of each scalar output against the parameter being moved."""

    def __init__(
        self, spec: ScriptSpec, controls: dict[str, Control], *, engine: str, cache: Any, work: Background
    ) -> None:
        self.spec = spec
        self.controls = controls
        self.engine = engine
        self.cache = cache
        self.work = work
        #: The results of the last rerun shown.
        self.last_run: ScriptResults | None = None
        #: Seconds from the change to its outputs being shown, for the last rerun shown.
        self.latency: float | None = None
        #: The run the next ones are compared with (Compare), or None.
        self.pinned: Iteration | None = None
        self._lock = threading.Lock()
        self._wanted = self._running = self._stopped = self._holding = False
        self._token: CancelToken | None = None
        self._asked_at = 0.0
        self._moved: str | None = None
        self._runs: dict[Any, _Run] = {}  # by values, latest last
        self._current: _Run | None = None
        self._shown: Iteration | None = None
        self.figure: Any = None
        self._resend: threading.Timer | None = None
        for name, c in controls.items():
            c.widget.observe(lambda ch, name=name: self._changed(name), "value")
            c.on_refused = self._refused
        self.status = w.HTML()
        self.outputs_html = w.HTML()
        self.live_output = w.VBox([self.outputs_html])
        self.trace_image = w.Image(format="png", layout=w.Layout(display="none", max_width="900px"))
        self.rerun_button = w.Button(
            description="Run", icon="play", tooltip="Run the script with these values"
        )
        self.reset_button = w.Button(
            description="Reset", icon="undo", tooltip="Every control back to the script's default"
        )
        self.compare_button = w.ToggleButton(
            description="Compare",
            icon="thumb-tack",
            tooltip="Pin this run: the next runs show their outputs beside it, with the change",
        )
        self.export_button = w.Button(
            description="Export",
            icon="download",
            tooltip="Write the runs (CSV) and the trace (PNG, SVG) here",
        )
        self.export_status = w.HTML()
        self.rerun_button.on_click(lambda _: self.request())
        self.reset_button.on_click(lambda _: self.reset())
        self.export_button.on_click(lambda _: self.export())
        self.compare_button.observe(lambda ch: self.pin(ch["new"]), "value")
        # The trace waits for the controls to rest: drawing it holds the interpreter for ~0.1 s, and
        # a rerun asked for meanwhile (a key held down, a slider dragged) would wait for it.
        self.trace = Throttle(work, self._draw_trace, every=0.0, share=0.5, rest=TRACE_REST)
        self.box = w.VBox(
            [
                w.HTML(
                    f"{CSS}<b>{html.escape(spec.display_path)}</b>: each change reruns the script "
                    "<span class='py3r-note'>(hover over a control for where it is declared)</span>"
                ),
                *[c.row for c in controls.values()],
                w.HBox(
                    [
                        self.rerun_button,
                        self.reset_button,
                        self.compare_button,
                        self.export_button,
                        self.status,
                    ]
                ),
                self.export_status,
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
        if not self._holding:
            self.request(moved=name)

    def request(self, moved: str | None = None) -> None:
        """Rerun with the controls' values: now if idle; else once the running rerun (now outdated,
        so cancelled) has stopped, with the values of that moment."""
        with self._lock:
            if self._stopped:
                return
            if moved is not None:
                self._moved = moved
            self._wanted = True
            self._asked_at = time.perf_counter()
            if self._token is not None:
                self._token.cancel()
            if self._running:
                return
            self._running = True
        self.work.spawn(self._loop)

    def _loop(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._wanted or self._stopped:
                        self._running = False
                        return
                    self._wanted = False
                    token = self._token = CancelToken()
                    asked_at = self._asked_at
                self._rerun(token, asked_at)
        except BaseException:
            with self._lock:
                self._running = False
            raise
        finally:
            with self._lock:
                self._token = None

    def stop(self) -> None:
        """Pending reruns will not start; a running one is cancelled; no more drawing."""
        with self._lock:
            self._stopped = True
            if self._token is not None:
                self._token.cancel()
            if self._resend is not None:
                self._resend.cancel()
        self.trace.stop()

    # Running -----------------------------------------------------------------------------------
    def _refused(self, message: str) -> None:
        self.status.value = ""
        self.outputs_html.value = error_box("Check the values", message)

    def _rerun(self, token: CancelToken, asked_at: float) -> None:
        try:
            plan = plan_run(self.spec, self.values())
        except (TypeError, ValueError) as exc:
            self._refused(str(exc))
            return
        self.status.value = "<i>running…</i>"
        try:
            results = execute_plan(
                plan, cache=self.cache, retry_failed=True, engine=self.engine, cancel=token
            )
        except Exception as exc:  # a store that cannot be opened, no engine: say it in place
            self.status.value = ""
            self.outputs_html.value = error_box("The run could not start", f"{type(exc).__name__}: {exc}")
            return
        if results.interrupted:
            return  # a newer change cancelled it: its rerun follows
        it = results.iterations[0]
        self.last_run = results
        run = _Run(
            dict(plan.points[0].values),
            it.status,
            {k: v for k, v in it.outputs.items() if is_scalar(v)},
            it.failure.message if it.failure else "",
            it.wall_time,
            it.cached,
        )
        with self._lock:
            key = value_key(run.values)
            self._runs.pop(key, None)
            self._runs[key] = run
            self._current = run
        self._shown = it
        self._render(it)
        self.latency = time.perf_counter() - asked_at
        where = (
            f"from the store (it ran in {it.wall_time:.2f} s)"
            if it.cached
            else f"ran in {it.wall_time:.2f} s"
        )
        if not it.ok:
            where = f"failed after {it.wall_time:.2f} s"
        self.status.value = (
            f"<span class='py3r-note'>{where} · shown {self.latency * 1e3:.0f} ms after the change</span>"
        )
        self.trace.request()
        with self._lock:
            if self._resend is None and not self._stopped:
                # A page that connects while the first result arrives (Voila loads its page right
                # after running the notebook, as the first rerun ends) can miss an update sent
                # from a thread while it fetches the widgets' state (voila-dashboards/voila#1101):
                # send that state once more when the page has surely connected.
                self._resend = threading.Timer(RESEND_AFTER, self._send_again)
                self._resend.daemon = True
                self._resend.start()

    def _send_again(self) -> None:
        for widget in (self.status, self.outputs_html, self.trace_image):
            widget.send_state()  # a closed widget sends nothing

    def _render(self, it: Iteration) -> None:
        parts = []
        if it.failure is not None:
            f = it.failure
            parts.append(error_box("The run failed", f.message, f.traceback or f.stderr_tail or None))
        pinned = self.pinned
        if pinned is not None:
            diff = [
                f"{k}: {format_value(pinned.values.get(k))} pinned, {format_value(it.values.get(k))} now"
                for k in dict.fromkeys([*pinned.values, *it.values])
                if key_of(pinned.values.get(k)) != key_of(it.values.get(k))
            ]
            parts.append(
                "<p class='py3r-note'>Compared with the pinned run"
                + (f" ({html.escape(', '.join(diff))})" if diff else " (same values)")
                + "</p>"
            )
        parts.append(scalars_html(it.outputs, pinned.outputs if pinned is not None else None))
        parts.append(outputs_html(it.outputs))
        self.outputs_html.value = "".join(parts)

    # Buttons -----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Every control back to the script's default; then one rerun."""
        self._holding = True
        try:
            for c in self.controls.values():
                c.reset()
        finally:
            self._holding = False
        self.request()

    def pin(self, on: bool = True) -> None:
        """Pin the run shown (``on``) so that the next ones are shown beside it, or unpin it."""
        shown = self._shown
        if on and (shown is None or not shown.ok):
            self.compare_button.value = False
            self.export_status.value = (
                "<span class='py3r-note'>Nothing to pin yet: wait for a run that completes.</span>"
            )
            return
        self.pinned = shown if on else None
        self.compare_button.value = on
        self.compare_button.button_style = "info" if on else ""
        if shown is not None:
            self._render(shown)

    def export(self, directory: str | Path | None = None) -> list[Path]:
        """Write the live runs so far as CSV, and the trace as PNG and SVG; return the paths."""
        import pandas as pd

        with self._lock:
            runs = list(self._runs.values())
        if not runs:
            self.export_status.value = "<span class='py3r-note'>Nothing to export yet.</span>"
            return []
        rows = [
            {
                **r.values,
                **r.scalars,
                "status": r.status,
                "error": r.error,
                "wall_time_s": r.wall_time,
                "cached": r.cached,
            }
            for r in runs
        ]
        csv, png, svg = export_paths(self.spec, "live", directory)
        pd.DataFrame(rows).to_csv(csv, index=False)
        paths = [csv]
        if self.figure is not None:
            paths += write_figure(self.figure, png, svg)
        self.export_status.value = wrote(paths)
        return paths

    # The trace ---------------------------------------------------------------------------------
    def _draw_trace(self) -> None:
        """Each numeric output against the parameter last moved, over the reruns seen so far with
        the other values as they are now; failed reruns crossed at the bottom, this one starred."""
        name = self._moved
        with self._lock:
            current = self._current
            runs = list(self._runs.values())
        if (
            current is None
            or name is None
            or name not in current.values
            or not is_number(current.values[name])
        ):
            self.trace_image.layout.display = "none"
            return
        others = value_key({k: v for k, v in current.values.items() if k != name})
        seen = [
            r
            for r in runs
            if name in r.values and value_key({k: v for k, v in r.values.items() if k != name}) == others
        ]
        outputs = list(
            dict.fromkeys(k for r in seen if r.status == "ok" for k, v in r.scalars.items() if is_number(v))
        )
        if not outputs:
            self.trace_image.layout.display = "none"
            return
        from matplotlib.figure import Figure

        fig = Figure(figsize=(min(2.8 * len(outputs), 14), 2.3), layout="constrained")
        axes = fig.subplots(1, len(outputs), squeeze=False)[0]
        x_now = current.values[name]
        for ax, out in zip(axes, outputs):
            ok = sorted(
                (r.values[name], r.scalars[out])
                for r in seen
                if r.status == "ok" and is_number(r.scalars.get(out))
            )
            ax.plot([p[0] for p in ok], [p[1] for p in ok], "-o", ms=4, color="#1f77b4")
            bad = [r.values[name] for r in seen if r.status != "ok"]
            if bad:
                ax.scatter(
                    bad,
                    [0.04] * len(bad),
                    transform=ax.get_xaxis_transform(),
                    marker="x",
                    s=50,
                    color="#7f7f7f",
                    label="failed",
                )
            if current.status == "ok" and is_number(current.scalars.get(out)):
                ax.scatter([x_now], [current.scalars[out]], marker="*", s=130, color="#d62728", zorder=5)
            else:
                ax.scatter(
                    [x_now],
                    [0.04],
                    transform=ax.get_xaxis_transform(),
                    marker="x",
                    s=90,
                    color="#d62728",
                    zorder=5,
                    label="this run failed",
                )
            ax.update_datalim([(x, 0.0) for x in [x_now, *bad]], updatex=True, updatey=False)
            ax.autoscale_view(scaley=False)
            ax.set_xlabel(name)
            ax.set_title(out, fontsize=9)
            ax.grid(True, alpha=0.3)
        if current.status != "ok" or any(r.status != "ok" for r in seen):
            axes[0].legend(fontsize=7, frameon=False, loc="upper left")
        self.figure = fig
        show_png(self.trace_image, figure_bytes(fig))
