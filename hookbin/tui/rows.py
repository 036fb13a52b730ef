"""The capture list's rows: `CaptureSummary`, what lists show of a capture without its body.

The list keeps up to 1,000 rows; holding each capture whole would hold up to 1,000 bodies
(of up to `--max-body` each). A row is the summary the store wrote beside its capture (new
captures bring theirs in `CapturesAdded`; `summaries.settled` redraws one whose answer's
outcome became known); the detail pane reads the whole capture from the store when its row
is chosen. `newest_rows` reads the rows of a list from the store. No Textual, no Rich.
"""

from __future__ import annotations

from hookbin.store import Filter, SQLiteStore
from hookbin.summaries import CaptureSummary

__all__ = ["newest_rows"]


def newest_rows(store: SQLiteStore, limit: int, flt: Filter | None = None) -> list[CaptureSummary]:
    """The rows of the newest `limit` captures that pass `flt`, oldest first (run it in a thread:
    it reads the summaries' columns, never a body, but a filter on text searches the bodies).

    Raises:
        StoreError: the store cannot be read, or `flt` is not valid.
    """
    return store.list_summaries(limit, flt=flt)[::-1]
