"""The examples run as a user runs them, so they share the command tests' process fixtures:
`hookbin` (run `hookbin ARGS` as a process) and `serve` (a `hookbin serve` process)."""

from tests.commands.conftest import hookbin, serve

__all__ = ["hookbin", "serve"]
