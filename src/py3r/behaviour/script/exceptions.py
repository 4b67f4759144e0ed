"""The warnings the library promises to emit, the errors its front ends share, and how warnings are
attributed to the user's own line.

Standard library only: every layer imports this module.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "IterationFailedWarning",
    "StoreWarning",
    "SweepInterruptedWarning",
    "UsageError",
    "WorkerStartError",
    "warn",
]


class IterationFailedWarning(UserWarning):
    """An iteration failed; its cause is in ``ScriptResults.errors``. The call still returned."""


class SweepInterruptedWarning(UserWarning):
    """A call was interrupted (Ctrl-C or Cancel); the finished iterations were kept."""


class StoreWarning(UserWarning):
    """A stored result was unusable (missing, truncated, corrupted) and is recomputed."""


class UsageError(ValueError):
    """Bad input typed by a person (a command-line option, a widget's text): the message says what to do.

    The command line prints it and exits with status 2; the magics and the panel show it as one
    line. A ``ValueError``, so code that catches bad values catches it too.
    """


class WorkerStartError(RuntimeError):
    """The warm worker could not be started: the call goes on with a new interpreter per iteration."""


#: Folders whose frames a warning skips on its way to the user's line: this package, and the
#: IPython machinery between a notebook cell and a magic.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _skipped(filename: str) -> bool:
    if filename.startswith(_PACKAGE_DIR):
        return True
    if filename.startswith("<decorator-gen-"):
        return True
    ipython_file = getattr(sys.modules.get("IPython"), "__file__", None)
    if not isinstance(ipython_file, str):  # no IPython folder (an empty one would match every path)
        return False
    return filename.startswith(os.path.dirname(ipython_file) + os.sep)


def warn(message: str, category: type[Warning]) -> None:
    """Emit a warning attributed to the first frame outside this library (the user's call or cell).

    The frames of this package, and IPython's between a cell and a magic, are skipped, however
    deep the call that warns (a plain ``stacklevel`` would count them by hand).
    """
    frame = sys._getframe(1)  # the caller of this function: warnings' stacklevel 2
    level = 2
    while frame.f_back is not None and _skipped(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
