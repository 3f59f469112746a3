"""threatmap's benchmark suite: `python -m bench [SUITE ...]` (see bench/README.md)."""
