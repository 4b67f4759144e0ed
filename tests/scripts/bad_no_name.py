from py3r.behaviour.script import Param

x = Param(3)
