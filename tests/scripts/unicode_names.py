"""Names with non-ASCII letters: the Param written composed (NFC), the Output decomposed (NFD).

Both look the same on screen; a caller may type either form.
"""

from py3r.behaviour.script import Output, Param

size = Param(1, name="größe")
Output(size * 2, name="mäßig")
