"""Produces an output, then leaves with os._exit(7) (no cleanup at all)."""

import os

from py3r.behaviour.script import Output

Output(1, name="before")
os._exit(7)
