"""Logs ``i`` when it starts; iteration 0 then waits while the file ``hold`` exists (bounded)."""

import os
import time

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
log = Param("", name="log")
hold = Param("", name="hold")
with open(log, "a") as f:
    f.write(f"{i}\n")
deadline = time.monotonic() + 120
while i == 0 and hold and os.path.exists(hold) and time.monotonic() < deadline:
    time.sleep(0.01)
Output(i * 10, name="y")
