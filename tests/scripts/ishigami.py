"""The Ishigami function, the standard test of global sensitivity analysis.

y = sin(x1) + a sin(x2)^2 + b x3^4 sin(x1), with x1, x2, x3 uniform on [-pi, pi], a = 7, b = 0.1.
Analytic indices: S1 = 0.3139, 0.4424, 0 and ST = 0.5576, 0.4424, 0.2437.
"""

import math

from py3r.behaviour.script import Output, Param

x1 = Param(0.0, name="x1", low=-math.pi, high=math.pi)
x2 = Param(0.0, name="x2", low=-math.pi, high=math.pi)
x3 = Param(0.0, name="x3", low=-math.pi, high=math.pi)

A, B = 7.0, 0.1
y = Output(math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1), name="y")
