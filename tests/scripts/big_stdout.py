"""Writes ~20 MB to stdout and ~5 MB to stderr, then produces 'done'."""

import sys

from py3r.behaviour.script import Output

line = "x" * 99 + "\n"
for _ in range(200_000):
    sys.stdout.write(line)
for _ in range(50_000):
    sys.stderr.write(line)
Output(True, name="done")
