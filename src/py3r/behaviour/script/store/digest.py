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


def point_key(plan: Plan, digest: str, point: Point, cwd: str) -> str:
    """The key of ``point``: what must match for a stored result to be reused."""
    material = {
        "script": digest,
        "cwd": cwd,  # relative paths in the script resolve against it
        "values": [[n, t, repr(v)] for n, t, v in value_key(point.values)],
        "capture": list(plan.capture),
        "explicit": plan.explicit_outputs,
        "stop_after": plan.stop_after_outputs,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
