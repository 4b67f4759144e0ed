from py3r.behaviour.script import Param

x = Param(3, name="not an id")
