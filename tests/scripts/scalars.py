"""Scalar parameters of every type, echoed back with their types."""

from py3r.behaviour.script import Output, Param

a = Param(1, name="a")
b = Param(0.5, name="b")
label = Param("x y", name="label")
flag = Param(False, name="flag")
opt = Param(None, name="opt")

Output(float(a + b), name="total")
Output(f"{label}:{a}", name="text")
Output(not flag, name="flag_out")
Output(
    {
        n: (v, type(v).__name__)
        for n, v in [("a", a), ("b", b), ("label", label), ("flag", flag), ("opt", opt)]
    },
    name="echo",
)
