"""`python -m tinyvision` runs the command line."""

from tinyvision.cli import main

raise SystemExit(main())
