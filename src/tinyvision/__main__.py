"""`python -m tinyvision` runs the command line."""

from tinyvision.cli import run

run()
