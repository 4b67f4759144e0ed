"""Execution: the iterations of a plan run, locally (:mod:`.local`) or on a cluster (:mod:`.cluster`).

:func:`execute` is the one entry: it turns a plan's points into tasks (plain data, :mod:`.jobs`),
hands them to the local loop or to an executor, adds each iteration to the results the moment it
is known, and records what an interruption left unstarted as cancelled.
"""

from .cancel import CancelToken
from .run import execute

__all__ = ["CancelToken", "execute"]
