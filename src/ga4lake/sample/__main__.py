"""``python -m ga4lake.sample ...`` runs the ``sample`` subcommand on its own."""

from .cli import main

raise SystemExit(main())
