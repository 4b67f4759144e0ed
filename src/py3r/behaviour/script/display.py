"""How results show themselves in a notebook: the HTML table of a :class:`ScriptResults`."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .spill import describe_size
from .values import format_value

if TYPE_CHECKING:
    from .results import ScriptResults

__all__ = ["results_html"]


def _memory_html(sr: ScriptResults) -> str:
    usage = sr.memory_usage()
    held, disk = usage["memory"], usage["disk"]
    if not held and not disk:
        return ""
    budget = sr.max_memory
    limit = "no limit" if budget is None else f"max_memory {describe_size(budget)}"
    return (
        f"<p class='py3r-memory'>Outputs: {describe_size(held)} in memory, "
        f"{describe_size(disk)} on disk ({limit}; indexing loads an output kept on disk)</p>"
    )


def results_html(sr: ScriptResults) -> str:
    """The HTML table a notebook shows for ``sr``: parameters, scalar outputs, status and time.

    The heading counts iterations ok, failed and cancelled apart; *Failures* lists the failed
    ones only (a cancelled iteration's status says why it has no outputs)."""
    esc = html.escape
    iterations = sr.iterations
    ok = sum(it.ok for it in iterations)
    cancelled = sum(it.status == "cancelled" for it in iterations)
    failed = sum(it.status == "failed" for it in iterations)
    scalars = sr.scalar_outputs()
    head = "".join(f"<th>{esc(n)}</th>" for n in [*sr.param_names, *scalars])
    body = []
    for it in iterations[:200]:
        cells = [esc(repr(it.params.get(n))) for n in sr.param_names]
        cells += [esc(format_value(it.outputs[n])) if n in it.outputs else "" for n in scalars]
        status = it.status + (" (cached)" if it.cached else "")
        title = esc(it.failure.message) if it.failure else ""
        style = {"failed": " style='color:#b00'", "cancelled": " style='color:#888'"}.get(it.status, "")
        body.append(
            "<tr>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + f"<td{style} title='{title}'>{esc(status)}</td><td>{it.wall_time:.2f}</td></tr>"
        )
    more = "" if len(sr) <= 200 else f"<p>… {len(sr) - 200} more iterations</p>"
    others = [n for n in sr.output_names if n not in scalars]
    names = ", ".join(f"<code>{esc(n)}</code>" for n in others)
    note = f"<p>Other outputs (index to reach them): {names}</p>" if others else ""
    note += _memory_html(sr)
    # Cancelled iterations never ran (or not to the end): counted apart above, and no failures.
    failed_its = [it for it in iterations if it.status == "failed"]
    errs = "".join(
        f"<li><code>{esc(str(it.params))}</code>: {esc(it.failure.message)}</li>"
        for it in failed_its[:20]
        if it.failure is not None
    )
    return (
        f"<div class='py3r-results'><p><b>ScriptResults</b>"
        f"{' of <code>' + esc(sr.script) + '</code>' if sr.script else ''}: {len(sr)} iterations, "
        f"{ok} ok, {failed} failed{f', {cancelled} cancelled' if cancelled else ''}</p>"
        f"<table><thead><tr>{head}<th>status</th><th>seconds</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{more}{note}"
        + (f"<details><summary>Failures</summary><ul>{errs}</ul></details>" if errs else "")
        + "</div>"
    )
