"""A toy multiverse: an effect and its interval for each combination of two analysis choices.

The nominal specification (method 'a', trim 0) gives +1.0; method 'c' flips the sign, and trim 2
widens the interval so that it includes 0.
"""

from py3r.behaviour.script import Output, Param

method = Param("a", name="method", choices=["a", "b", "c"])
trim = Param(0, name="trim", choices=[0, 1, 2])

effect = {"a": 1.0, "b": 0.5, "c": -0.25}[method] + 0.1 * trim
half_width = 0.2 if trim < 2 else 2.0
Output(effect, name="effect")
Output(effect - half_width, name="effect_lo")
Output(effect + half_width, name="effect_hi")
