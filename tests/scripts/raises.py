"""Raises ValueError('boom 42') from a function called at module level."""

from py3r.behaviour.script import Output, Param

x = Param(1, name="x")


def compute(v):
    raise ValueError(f"boom {42 * v}")


Output(compute(x), name="y")
