"""Starters: the `cpplan` command line and helpers that start and talk to plans."""
