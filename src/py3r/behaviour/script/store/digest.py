"""What a stored result depends on: a digest of the script and its local modules, and each point's key.

The key of an iteration hashes the script's source, the sources of the local modules it imports
(followed from module to module: :func:`~py3r.behaviour.script.spec.closure.local_sources`), the
working directory, every injected value, the requested outputs and the library's major version.
"""

from __future__ import annotations

import hashlib
import json

from ..plan import Plan, Point
from ..spec import ScriptSpec
from ..spec.closure import local_sources
from ..values import value_key

__all__ = ["MAJOR_VERSION", "point_key", "script_digest"]

#: Stored entries of another major version are never used.
MAJOR_VERSION = "0"


def script_digest(spec: ScriptSpec) -> str:
    """A digest of everything about the script a stored result depends on (not the values)."""
    material = {
        "version": MAJOR_VERSION,
        "path": str(spec.path),
        "source": hashlib.sha256(spec.source.encode()).hexdigest(),
        "local": local_sources(spec),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def value_token(value: object) -> str:
    """One value as key material, exact and never failing.

    Its ``repr`` (exact for every bool, float, str and None, and for ints of ordinary size, so keys
    stored before stay valid), except for an int of more than 2000 bits (about 600 digits, below the
    lowest digit limit Python lets ``repr`` have): a hash of its bytes, tagged so that it cannot
    equal any ``repr``. The value's type stands beside it in the key (:func:`value_key`).

    Examples
    --------
    >>> from py3r.behaviour.script.store.digest import value_token
    >>> value_token(1), value_token(1.0), value_token(10**5000)[:11]
    ('1', '1.0', 'sha256-int:')
    """
    if isinstance(value, int) and value.bit_length() > 2000:
        size = value.bit_length() // 8 + 1
        return "sha256-int:" + hashlib.sha256(value.to_bytes(size, "big", signed=True)).hexdigest()
    return repr(value)


def point_key(plan: Plan, digest: str, point: Point, cwd: str) -> str:
    """The key of ``point``: what must match for a stored result to be reused."""
    material = {
        "script": digest,
        "cwd": cwd,  # relative paths in the script resolve against it
        "values": [[n, t, value_token(v)] for n, t, v in value_key(point.values)],
        "capture": list(plan.capture),
        "explicit": plan.explicit_outputs,
        "stop_after": plan.stop_after_outputs,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
