"""Marks that it started (a file named after ``i`` in ``started``), then waits for ``release`` to exist.

Keeps an iteration running for exactly as long as a test needs, without timing guesses.
"""

import os
import time

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
started = Param("", name="started")
release = Param("", name="release")
if started:
    with open(os.path.join(started, f"{i}.tmp"), "w") as f:
        f.write(str(os.getpid()))
    os.replace(os.path.join(started, f"{i}.tmp"), os.path.join(started, str(i)))
deadline = time.monotonic() + 60
while release and not os.path.exists(release) and time.monotonic() < deadline:
    time.sleep(0.01)
Output(i, name="value")
