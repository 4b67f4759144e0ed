"""The run store: iterations computed once are never computed, or lost, again.

A store is a directory (mode 0700) holding an SQLite index and one signed file per stored
iteration (:mod:`.index`); what a stored result depends on is in :mod:`.digest`, the signing key
in :mod:`.keyfile`. Loading a stored iteration unpickles it, which can run code: open only stores
you wrote yourself, and share results as CSV or Parquet (``to_dataframe``), not as a store.
cloudpickle is not a format that crosses Python or library versions.
"""

from .history import history
from .index import RunStore
from .session import open_store

__all__ = ["RunStore", "history", "open_store"]
