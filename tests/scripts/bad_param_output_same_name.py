from py3r.behaviour.script import Output, Param

x = Param(3, name="x")
Output(x, name="x")
