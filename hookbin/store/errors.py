"""The store's one error type: a problem worth one line to the user."""

from __future__ import annotations


class StoreError(Exception):
    """A store problem worth one line to the user (unreadable file, corrupt database, bad filter, ...)."""
