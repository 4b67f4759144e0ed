"""The worker side: what runs in the warm worker and in each iteration's fresh process.

Imports only the standard library, cloudpickle and the annotations (``param``), never a layer above:
every iteration pays for what is imported here.
"""
