"""orderctl: the operator's command line for a deployed order stack or the offline sandbox.

``orderctl --help`` (or ``python -m orderctl --help``); every command also takes ``--json`` for scripts.
"""
