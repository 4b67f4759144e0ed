"""Knobs of every kind a sampled design maps: a float, ints (one on a step grid), choices and a bool."""

from py3r.behaviour.script import Output, Param

x = Param(0.5, name="x", low=0.0, high=1.0)
k = Param(2, name="k", low=0, high=4)
w = Param(3, name="w", low=1, high=9, step=2)  # odd only: the script refuses even windows
method = Param("a", name="method", choices=["a", "b", "c"])
flag = Param(True, name="flag")
fail_above = Param(2.0, name="fail_above")  # x above this fails the iteration

if w % 2 == 0:
    raise ValueError(f"w must be odd; got {w}")
if x > fail_above:
    raise ValueError(f"x={x} is above {fail_above}")
Output(x + k + w + {"a": 0, "b": 10, "c": 20}[method] + 100 * flag, name="y")
Output(f"{method}-{k}", name="label")
Output([x, k], name="pair")
