"""What a script declares, read without running it: :func:`read_script` gives a :class:`ScriptSpec`."""

from .model import ImportSpec, OutputSpec, ParamSpec, ScriptSpec, TypeName
from .parse import parse_python, read_script

__all__ = ["ImportSpec", "OutputSpec", "ParamSpec", "ScriptSpec", "TypeName", "parse_python", "read_script"]
