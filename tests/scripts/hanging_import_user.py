"""Imports a library that hangs on import (put tests/scripts/slow_lib on PYTHONPATH)."""

import hanging_import

from py3r.behaviour.script import Output

Output(hanging_import.__name__, name="imported")
