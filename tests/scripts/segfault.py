"""Produces an output, then crashes the interpreter with SIGSEGV."""

import ctypes

from py3r.behaviour.script import Output

Output(1, name="before")


def crash():
    ctypes.string_at(0)


crash()
