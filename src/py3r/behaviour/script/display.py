"""How results show themselves: their repr, their HTML table in a notebook, and what a table of them
cannot hold."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .spill import describe_size
from .values import format_value

if TYPE_CHECKING:
    from .iteration import Iteration

__all__ = ["Display"]


class Display:
    """How ``ScriptResults`` shows itself (it inherits this): its repr, its HTML table in a
    notebook, and what ``to_dataframe`` says of outputs that cannot be columns."""

    if TYPE_CHECKING:  # provided by ScriptResults
        script: str | None
        param_names: list[str]
        output_names: list[str]

        @property
        def iterations(self) -> list[Iteration]: ...

        @property
        def max_memory(self) -> int | None: ...

        def __len__(self) -> int: ...

        def keys(self) -> list[dict[str, Any]]: ...

        def scalar_outputs(self) -> list[str]: ...

        def memory_usage(self) -> dict[str, int]: ...

    def __repr__(self) -> str:
        return _repr(self)

    def _repr_html_(self) -> str:
        return _html(self)

    def _not_scalar_message(self, bad: dict[str, str]) -> str:
        return _not_scalar(self, bad)


def _counts(sr: Display) -> tuple[int, int, int]:
    """Iterations ok, failed and cancelled: a cancelled one (never run, or stopped by a Cancel) is
    no failure, though ``failures`` and ``errors`` list it, as the reference's do."""
    statuses = [it.status for it in sr.iterations]
    return statuses.count("ok"), statuses.count("failed"), statuses.count("cancelled")


def _repr(sr: Display) -> str:
    """``<ScriptResults of pipeline.py: 5 iterations (4 ok, 1 failed); params=[...]; outputs=[...]>``."""
    ok, failed, cancelled = _counts(sr)
    extra = f", {cancelled} cancelled" if cancelled else ""
    script = f" of {sr.script}" if sr.script else ""
    return (
        f"<ScriptResults{script}: {len(sr)} iterations ({ok} ok, {failed} failed{extra}); "
        f"params={sr.param_names}; outputs={sr.output_names}>"
    )


def _not_scalar(sr: Display, bad: dict[str, str]) -> str:
    """What ``to_dataframe`` says when outputs ``bad`` (name: type name) cannot be columns."""
    listed = ", ".join(f"{n!r} (a {kind})" for n, kind in bad.items())
    one = len(bad) == 1
    scalars = sr.scalar_outputs()
    first = next(iter(bad))
    key = (sr.keys() or [{}])[0]
    text = (
        f"Output{'' if one else 's'} {listed} {'is' if one else 'are'} not scalar, so "
        f"{'it cannot be a table column' if one else 'they cannot be table columns'}. "
    )
    if scalars:
        text += (
            f"The scalar outputs are: {', '.join(scalars)}; make a table of them with "
            f"sr.to_dataframe(outputs={scalars!r}). "
        )
    else:
        text += "No output here is a scalar. "
    return text + f"Reach {'it' if one else 'them'} by indexing: sr[{key!r}][{first!r}]."


def _memory_html(sr: Display) -> str:
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


def _html(sr: Display) -> str:
    """The HTML table a notebook shows for ``sr``: parameters, scalar outputs, status and time.

    The heading counts iterations ok, failed and cancelled apart; *Failures* lists the failed
    ones only (a cancelled iteration's status says why it has no outputs)."""
    esc = html.escape
    iterations = sr.iterations
    ok, failed, cancelled = _counts(sr)
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
