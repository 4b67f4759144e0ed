"""What the panel shows, as HTML: numbers for reading, compact tables, error boxes, figures.

Plain functions of data to text: the tabs put the text into widgets they made once, so a rerun
makes no new widget.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from typing import Any

from ... import SpilledOutput
from ...values import is_number, is_scalar

__all__ = [
    "CSS",
    "DPI",
    "error_box",
    "figure_bytes",
    "outputs_html",
    "readable",
    "scalars_html",
    "show_png",
    "table_html",
]

#: Resolution of the figures the panel shows.
DPI = 90

#: The panel's own styles: compact tables with thin rules, numbers aligned, a sticky header in
#: scrolled tables, and the small grey lines under controls. Shown once, in a widget of the panel.
CSS = """<style>
.py3r-table{border-collapse:collapse;font-size:12px;line-height:1.35;margin:2px 0}
.py3r-table th,.py3r-table td{padding:2px 8px;border:none;border-bottom:1px solid #e3e3e3;
  text-align:left;white-space:nowrap}
.py3r-table th{font-weight:600;background:#f6f6f6;position:sticky;top:0}
.py3r-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.py3r-table tr.failed td{color:#b71c1c}
.py3r-scroll{max-height:320px;overflow:auto;border:1px solid #e3e3e3;display:inline-block;max-width:100%}
.py3r-note{color:#666;font-size:12px;line-height:1.3}
.py3r-up{color:#1b5e20}.py3r-down{color:#b71c1c}
</style>"""


def readable(value: Any) -> str:
    """A value as a person reads it: ``2.0`` stays ``2.0``, ``0.818642`` is ``0.8186``.

    Floats keep four significant digits (at least one decimal); very large and very small ones
    are written in scientific notation. Other values by ``str``; ``None`` and NaN are empty.

    Examples
    --------
    >>> from py3r.behaviour.script.frontends.panel.render import readable
    >>> [readable(v) for v in (2.0, 0.818642, 1234.5678, 3e-07, 5, "mean", None)]
    ['2.0', '0.8186', '1234.6', '3e-07', '5', 'mean', '']
    """
    if value is None:
        return ""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return ""
    if math.isinf(value) or value == 0:
        return str(value)
    size = abs(value)
    if size >= 1e6 or size < 1e-4:
        return f"{value:.4g}"
    decimals = max(1, 4 - (math.floor(math.log10(size)) + 1))
    text = f"{value:.{decimals}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _cell(value: Any, decimals: int | None = None) -> str:
    cls = " class='num'" if is_number(value) else ""
    if decimals is not None and isinstance(value, float) and math.isfinite(value):
        text = f"{value:.{decimals}f}"
    else:
        text = readable(value)
    if len(text) > 80:  # an error message: its first words, the whole on hover
        return f"<td title='{html.escape(text)}'>{html.escape(text[:80])}…</td>"
    return f"<td{cls}>{html.escape(text)}</td>"


def _decimals(values: list[Any]) -> int | None:
    """One number of decimals for a column of floats, so that it reads aligned: as many as
    :func:`readable` gives its middle value. None where some need scientific notation."""
    floats = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    if not floats:
        return None
    shown = [readable(v) for v in floats]
    if any("e" in t for t in shown):
        return None
    return sorted(len(t.partition(".")[2]) for t in shown)[len(shown) // 2]


def table_html(df: Any, *, scroll: bool = False, failed_rows: bool = False) -> str:
    """A DataFrame as a compact table, every row (in a scrolling box with ``scroll``).

    With ``failed_rows``, rows whose ``status`` is not "ok" are marked (red text).
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    status = list(df["status"]) if failed_rows and "status" in df.columns else None
    decimals = [_decimals(df[c].tolist()) for c in df.columns]  # a column reads best aligned
    rows = []
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        cls = " class='failed'" if status is not None and status[i] != "ok" else ""
        rows.append(f"<tr{cls}>{''.join(_cell(v, d) for v, d in zip(row, decimals))}</tr>")
    table = f"<table class='py3r-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f"<div class='py3r-scroll'>{table}</div>" if scroll else table


def error_box(title: str, message: str, details: str | None = None) -> str:
    """A red box of HTML: a title, a message and, folded, details (a traceback)."""
    more = (
        f"<details><summary>details</summary><pre>{html.escape(details)}</pre></details>" if details else ""
    )
    return (
        "<div class='py3r-error' style='border-left:4px solid #c62828;background:#fdecea;"
        "padding:6px 10px;margin:4px 0'>"
        f"<b>{html.escape(title)}</b>"
        f"<div style='white-space:pre-wrap'>{html.escape(message)}</div>{more}</div>"
    )


def show_png(image: Any, data: bytes) -> None:
    """Show PNG ``data`` in an Image widget at its own width, never stretched to the cell's."""
    image.value = data
    image.width = str(int.from_bytes(data[16:20], "big"))  # the PNG header's width
    image.layout.display = ""


def figure_bytes(fig: Any, fmt: str = "png", dpi: int = DPI) -> bytes:
    """``fig`` as PNG (or SVG) bytes, at the panel's resolution by default, with no version stamp."""
    buf = io.BytesIO()
    stamp = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None}
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=stamp)
    return buf.getvalue()


def _change(now: Any, then: Any) -> str:
    if not (is_number(now) and is_number(then)):
        return "" if now == then else "changed"
    diff = float(now) - float(then)
    if diff == 0:
        return "="
    cls = "py3r-up" if diff > 0 else "py3r-down"
    rel = f" ({diff / abs(float(then)):+.1%})" if then else ""
    return f"<span class='{cls}'>{'+' if diff > 0 else ''}{html.escape(readable(diff))}{rel}</span>"


def scalars_html(outputs: Mapping[str, Any], pinned: Mapping[str, Any] | None = None) -> str:
    """The scalar outputs as a table; beside those of a pinned run, with the change, when given."""
    names = [k for k, v in outputs.items() if is_scalar(v)]
    if pinned is not None:
        names += [k for k, v in pinned.items() if is_scalar(v) and k not in names]
    if not names:
        return ""
    if pinned is None:
        rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td>{_cell(outputs[k])}</tr>" for k in names)
        return f"<table class='py3r-table py3r-live-scalars'>{rows}</table>"
    rows = "".join(
        f"<tr><td><code>{html.escape(k)}</code></td>{_cell(outputs.get(k))}{_cell(pinned.get(k))}"
        f"<td class='num'>{_change(outputs[k], pinned[k]) if k in outputs and k in pinned else ''}</td></tr>"
        for k in names
    )
    return (
        "<table class='py3r-table py3r-live-scalars'><thead><tr><th>output</th><th>this run</th>"
        f"<th>pinned</th><th>change</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _figure_html(fig: Any) -> str:
    data = base64.b64encode(figure_bytes(fig)).decode()
    width = int(fig.get_figwidth() * DPI)
    return f"<img src='data:image/png;base64,{data}' style='max-width:100%' width='{width}'>"


def outputs_html(outputs: Mapping[str, Any]) -> str:
    """The outputs that are not scalars: DataFrames (the first 50 rows), figures, others by repr."""
    parts = []
    for name, value in outputs.items():
        if is_scalar(value):
            continue
        label = f"<code>{html.escape(name)}</code>"
        if isinstance(value, SpilledOutput):  # shown, never loaded: it may be larger than memory
            parts.append(
                f"<p class='py3r-note'>{label}: a {html.escape(value.type_name)} of "
                f"{value.nbytes / 2**20:.1f} MiB, kept on disk (beyond max_memory); "
                "<code>panel.last_run</code> indexes it.</p>"
            )
        elif type(value).__name__ == "DataFrame" and hasattr(value, "head"):
            head = value.head(50)
            if type(head.index).__name__ != "RangeIndex":
                head = head.reset_index()  # a meaningful index is a column worth reading
            shown = head.iloc[:, :12]
            cut = f"; the first {len(head)}" if len(value) > len(head) else ""
            cols = f", {value.shape[1]} columns (the first 12)" if value.shape[1] > 12 else ""
            parts.append(
                f"<p class='py3r-note'>{label} ({len(value)} rows{cut}{cols})</p>"
                f"<div class='py3r-scroll' style='max-height:240px'>{table_html(shown)}</div>"
            )
        elif type(value).__name__ == "Figure" and hasattr(value, "savefig"):
            parts.append(f"<p class='py3r-note'>{label}</p>{_figure_html(value)}")
        else:
            text = repr(value)
            text = text if len(text) < 2000 else text[:2000] + " …"
            parts.append(f"<p class='py3r-note'>{label}</p><pre>{html.escape(text)}</pre>")
    return "".join(parts)
