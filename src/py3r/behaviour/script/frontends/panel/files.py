"""Where the Export buttons write: next to the notebook (the working directory), never over a file."""

from __future__ import annotations

import html
import os
import time
from pathlib import Path
from typing import Any

from ... import ScriptSpec
from .render import figure_bytes

__all__ = ["export_paths", "write_figure", "wrote"]


def export_paths(
    spec: ScriptSpec, what: str, directory: str | os.PathLike[str] | None, *, also: tuple[str, ...] = ()
) -> tuple[Path, Path, Path]:
    """``(csv, png, svg)`` paths named ``<script>-<what>-<time>``, none of which exists yet, nor
    does the name with any ending of ``also`` (``"-indices.csv"``: another file written beside)."""
    folder = Path(directory) if directory is not None else Path.cwd()
    stem = f"{Path(spec.display_path).stem}-{what}-{time.strftime('%Y%m%d-%H%M%S')}"
    base, n = stem, 1
    while any((folder / f"{base}{ext}").exists() for ext in (".csv", ".png", ".svg", *also)):
        n += 1
        base = f"{stem}-{n}"
    return folder / f"{base}.csv", folder / f"{base}.png", folder / f"{base}.svg"


def write_figure(fig: Any, png: Path, svg: Path) -> list[Path]:
    """Write ``fig`` as PNG and SVG; return both paths."""
    png.write_bytes(figure_bytes(fig, "png", dpi=150))
    svg.write_bytes(figure_bytes(fig, "svg"))
    return [png, svg]


def wrote(paths: list[Path]) -> str:
    """A note of HTML naming the files written and their folder."""
    where = html.escape(str(paths[0].parent.resolve()))
    names = ", ".join(f"<code>{html.escape(p.name)}</code>" for p in paths)
    return f"<span class='py3r-note'>Wrote {names} in <code>{where}</code>.</span>"
