"""Shared type aliases and sentinels.

Kept dependency-free: the child process imports this module on every iteration.
"""

from __future__ import annotations

from os import PathLike
from typing import Final, Union

#: A value a parameter may take: the scalars a script can declare as a literal default.
ParamValue = Union[bool, int, float, str, None]  # noqa: UP007 (runtime alias, valid on 3.10)

#: Anything accepted where a script path is expected.
ScriptPath = Union[str, PathLike]  # noqa: UP007 (a runtime alias: kept valid on Python 3.10)


class _Sentinel:
    """A named marker object; ``None`` is a legitimate parameter default, so it cannot mark absence."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        # Pickles as a reference to the module-level constant, so identity survives transport.
        return self._name

    def __bool__(self) -> bool:
        return False


#: The default of a parameter that has none: it is required.
MISSING: Final = _Sentinel("MISSING")

#: The default of a parameter whose default is an expression evaluated when the script runs.
COMPUTED: Final = _Sentinel("COMPUTED")

#: The scalar types a parameter value may have, in the order messages list them.
SCALAR_TYPES: Final = (bool, int, float, str, type(None))
