"""Closes every file descriptor above stderr, as some daemonising code does, then opens a file of its
own (which may get the number of the library's result pipe) and outputs a value."""

import os

from py3r.behaviour.script import Output, Param

own_file = Param("", name="own_file")
os.closerange(3, 4096)
if own_file:
    f = open(own_file, "w")  # noqa: SIM115 (left open on purpose: the Output below must not write into it)
    f.write("the script's own text\n")
    f.flush()
Output(1, name="x")
