"""Outputs an instance of a class defined here and one of a class from a local module."""

import helper_mod

from py3r.behaviour.script import Output


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


Output(Point(1, 2), name="point")
Output(helper_mod.Helper(3), name="helper")
Output(helper_mod.IMPORTS, name="imports")
