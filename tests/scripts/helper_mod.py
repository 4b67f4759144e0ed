"""A local module beside the scripts: a class and an import counter."""

IMPORTS = 0
IMPORTS += 1


class Helper:
    def __init__(self, value):
        self.value = value
