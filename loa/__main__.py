"""`python -m loa` runs the CLI (the supervisor starts its children this way)."""

from loa.cli import main

main()
