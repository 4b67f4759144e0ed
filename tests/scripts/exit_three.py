"""Exits with status 3."""

import sys

from py3r.behaviour.script import Output

sys.exit(3)
Output(1, name="never")
