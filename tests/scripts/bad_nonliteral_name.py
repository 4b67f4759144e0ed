from py3r.behaviour.script import Param

name = "x"
x = Param(3, name=name)
