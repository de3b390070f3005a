"""`python -m vmafx` runs the CLI."""

from vmafx.cli.app import main

main()
