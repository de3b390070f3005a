"""`python -m vmafx` runs the CLI."""

from vmafx.cli.entry import main

main()
