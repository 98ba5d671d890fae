"""``python -m protocol``: a small command line over the sync client."""

from ._cli._main import main

raise SystemExit(main())
