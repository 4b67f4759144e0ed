"""Parsing Python source, one thread at a time: the only way this library turns source into a tree."""

from __future__ import annotations

import ast
import threading

__all__ = ["parse_python"]

#: CPython 3.11's AST conversion is not safe in several threads at once ("AST constructor recursion
#: depth mismatch"); parses run one at a time (they take a millisecond). Only the parse needs it:
#: walking the tree it made is safe.
_AST_LOCK = threading.Lock()


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, one thread at a time (the only way this library parses Python source).

    Raises
    ------
    SyntaxError
        If ``source`` does not parse.
    ValueError
        If ``source`` holds a null byte.
    """
    with _AST_LOCK:
        return ast.parse(source, filename=filename)
