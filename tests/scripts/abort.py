"""Dies by SIGABRT."""

import os

from py3r.behaviour.script import Output

Output(1, name="before")
os.abort()
