"""The reliability tests run `hookbin serve` as a user does, a real process under real load, so
they share the command tests' process fixtures: `hookbin` (run `hookbin ARGS`) and `serve`."""

from tests.commands.conftest import hookbin, serve

__all__ = ["hookbin", "serve"]
