"""The one error the export and import formats raise: input that is not what its format says."""

from __future__ import annotations


class FormatError(ValueError):
    """Malformed input; the message names the field, and the reader adds the line or entry."""
