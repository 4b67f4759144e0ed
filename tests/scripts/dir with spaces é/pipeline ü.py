"""A script in a directory whose path has spaces and non-ASCII characters."""

from py3r.behaviour.script import Output, Param

x = Param(1, name="x")
Output(x * 2, name="y")
