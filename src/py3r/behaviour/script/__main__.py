"""``python -m py3r.behaviour.script``: the command line."""

from .cli import main

raise SystemExit(main())
