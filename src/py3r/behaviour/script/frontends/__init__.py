"""Front ends: the command line, the IPython magics and the widget panel.

Each is a thin layer over the public API (``py3r.behaviour.script``), :mod:`..values` and
:mod:`..exceptions`; none imports another, nor any private name.
"""
