"""What a script declares, read without running it: :func:`read_script` gives a :class:`ScriptSpec`."""

from .model import ImportSpec, OutputSpec, ParamSpec, ScriptSpec, TypeName
from .parse import read_script
from .syntax import parse_python

__all__ = ["ImportSpec", "OutputSpec", "ParamSpec", "ScriptSpec", "TypeName", "parse_python", "read_script"]
