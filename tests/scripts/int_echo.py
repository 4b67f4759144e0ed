"""An int parameter used without printing it: takes ints of any size."""

from py3r.behaviour.script import Output, Param

i = Param(0, name="i")
Output(i % 1000, name="last_digits")
Output(i.bit_length(), name="bits")
