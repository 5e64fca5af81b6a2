"""``python -m colorize`` runs the command-line interface."""

from colorize.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
