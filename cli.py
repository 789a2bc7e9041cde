"""Thin entry point for checkouts: ``python cli.py ...`` runs the frontdesk CLI."""

from engine.cli import main

if __name__ == "__main__":
    main()
