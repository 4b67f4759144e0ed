"""Exits with a message (status 1, message on stderr)."""

import sys

from py3r.behaviour.script import Output

sys.exit("fatal: bad input")
Output(1, name="never")
