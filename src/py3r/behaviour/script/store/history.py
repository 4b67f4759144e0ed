"""The history of a script in a run store, as a DataFrame."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..spec import ScriptSpec, read_script
from .digest import script_digest
from .index import RunStore
from .session import open_store, store_dir

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["history"]


def history(
    script: str | os.PathLike[str], *, store: bool | str | os.PathLike[str] | RunStore = True
) -> pd.DataFrame:
    """The stored iterations of ``script`` as a DataFrame.

    Parameters
    ----------
    script : str or Path
        The script whose history to list.
    store : bool or path or RunStore, default True
        The store (True: ``.py3r-runs`` in the working directory, or ``$PY3R_SCRIPT_STORE``).

    Returns
    -------
    pandas.DataFrame
        One row per stored iteration, oldest first: the injected parameter values, the scalar
        outputs, ``status``, ``when`` (local time), ``seconds`` (wall time) and ``current`` (True
        when the entry matches the script and its local modules as they are now, so a call with
        the same values and outputs would be served from it).

    Examples
    --------
    >>> import tempfile
    >>> from py3r.behaviour.script import history, sensitivity
    >>> d = tempfile.mkdtemp()
    >>> _ = sensitivity("examples/open_field/pipeline.py", {"threshold": [1.0, 3.0]}, cache=d, progress=False)
    >>> table = history("examples/open_field/pipeline.py", store=d)
    >>> table["threshold"].tolist(), table["status"].tolist()
    ([1.0, 2.0, 3.0], ['ok', 'ok', 'ok'])
    """
    import pandas as pd

    if isinstance(store, RunStore):
        opened: RunStore | None = store
    else:
        try:
            directory = store_dir(store)
        except TypeError:
            raise TypeError(f"store= takes True or a directory path; got {store!r}.") from None
        if not Path(directory).expanduser().is_dir():  # nothing stored yet: do not create a store
            return pd.DataFrame(columns=["status", "when", "seconds", "current"])
        opened = open_store(directory)
    assert opened is not None
    path = Path(script).expanduser().resolve()
    rows = opened.rows(path)
    try:
        spec: ScriptSpec | None = read_script(path)
    except (OSError, SyntaxError, ValueError):
        spec = None  # the script is gone or broken: its history is still listed
    current = script_digest(spec) if spec is not None else None
    records: list[dict[str, Any]] = []
    params: dict[str, None] = {}
    outputs: dict[str, None] = {}
    for p_json, o_json, status, created, wall_time, digest in rows:
        p, o = json.loads(p_json), json.loads(o_json)
        params.update(dict.fromkeys(p))
        outputs.update(dict.fromkeys(o))
        records.append(
            {
                **p,
                **o,
                "status": status,
                "when": pd.Timestamp.fromtimestamp(round(created, 3)),  # local time
                "seconds": wall_time,
                "current": digest == current,
            }
        )
    order_p = [n for n in (spec.params if spec else ()) if n in params] + [
        n for n in params if spec is None or n not in spec.params
    ]
    order_o = [n for n in (spec.outputs if spec else ()) if n in outputs] + [
        n for n in outputs if spec is None or n not in spec.outputs
    ]
    columns = [*order_p, *order_o, "status", "when", "seconds", "current"]
    return pd.DataFrame(records, columns=columns)
