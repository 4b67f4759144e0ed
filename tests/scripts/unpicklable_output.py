"""Produces a good output 'ok', then a generator 'gen' that cannot be pickled."""

from py3r.behaviour.script import Output

Output(1, name="ok")
Output((i for i in range(3)), name="gen")
Output(2, name="after")
