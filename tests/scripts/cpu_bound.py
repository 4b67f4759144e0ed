"""About 0.3 s of pure-Python work."""

import os

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
n = Param(1_000_000, name="n")
total = 0
for k in range(n):
    total += k * k % 7
Output(total, name="total")
Output(os.getpid(), name="pid")
