"""``python -m py3r.behaviour.script``: the command line."""

from .frontends.cli import main

raise SystemExit(main())
