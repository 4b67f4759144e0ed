"""y = 10a + b + 0c on the unit cube: Morris' mu* is exactly 10, 1 and 0, and sigma 0."""

from py3r.behaviour.script import Output, Param

a = Param(0.5, name="a", low=0.0, high=1.0)
b = Param(0.5, name="b", low=0.0, high=1.0)
c = Param(0.5, name="c", low=0.0, high=1.0)

Output(10 * a + b + 0 * c, name="y")
