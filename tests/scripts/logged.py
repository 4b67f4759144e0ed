"""Appends its ``i`` to the file ``log`` each time it really runs (tests count runs), then outputs
``i * 10`` and a padding of ``pad`` bytes (to fill a disk)."""

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
log = Param("", name="log")
pad = Param(0, name="pad")
if log:
    with open(log, "a") as f:
        f.write(f"{i}\n")
Output(i * 10, name="y")
Output(b"x" * pad, name="padding")
