"""Benchmarks that print figures (run with ``python -m bench``); tests never assert times."""
