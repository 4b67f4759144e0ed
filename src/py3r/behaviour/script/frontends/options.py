"""What the command line and the magics parse alike: the optional directory of ``--cache``, sizes."""

from __future__ import annotations

from ..settings import parse_size

__all__ = ["parse_size", "split_script_and_cache"]


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
