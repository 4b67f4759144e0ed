"""Reads standard input: it must be at end-of-file at once."""

import sys

from py3r.behaviour.script import Output

data = sys.stdin.read()
Output(data, name="data")
Output(len(data), name="length")
