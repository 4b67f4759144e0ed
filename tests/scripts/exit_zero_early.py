"""Produces 'early', then exits cleanly with sys.exit(0) before 'late'."""

import sys

from py3r.behaviour.script import Output

Output("early-value", name="early")
sys.exit(0)
Output("late-value", name="late")
