"""What the command line and the magics parse alike: the optional directory of ``--cache``, sizes."""

from __future__ import annotations

import re

from ..exceptions import UsageError

__all__ = ["parse_size", "split_script_and_cache"]

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str, option: str) -> int | None:
    """A number of bytes typed by a person: ``"2G"``, ``"512M"``, ``"1000000"``; ``"none"`` is None.

    Suffixes count in powers of 1024 (``K``, ``M``, ``G``, ``T``, with or without ``iB`` or ``B``).

    Examples
    --------
    >>> from py3r.behaviour.script.frontends.options import parse_size
    >>> [parse_size(text, "--max-memory") for text in ("2G", "1.5k", "512MiB", "none")]
    [2147483648, 1536, 536870912, None]
    """
    cleaned = text.strip().lower()
    if cleaned == "none":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?", cleaned)
    if match is None:
        raise UsageError(
            f"{option} takes a number of bytes (e.g. 2G, 512M or 1000000), or none; got {text!r}."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def split_script_and_cache(
    script: str | None, cache: bool | str | None
) -> tuple[str | None, bool | str | None]:
    """The script path, given back where a bare ``--cache`` took it as its directory.

    ``--cache`` takes an optional DIR, so ``run --cache pipeline.py`` reads ``pipeline.py`` as the
    store. A script file is no store: it is the script, and the store is the default one.

    Examples
    --------
    >>> from py3r.behaviour.script.frontends.options import split_script_and_cache
    >>> split_script_and_cache(None, "pipeline.py")
    ('pipeline.py', True)
    >>> split_script_and_cache("pipeline.py", "runs")
    ('pipeline.py', 'runs')
    """
    if script is None and isinstance(cache, str) and cache.endswith((".py", ".ipynb")):
        return cache, True
    return script, cache
