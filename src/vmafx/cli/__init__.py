"""Command-line entry points (Typer). Nothing imports this package."""
