"""RowSummary: what one row of the capture list shows, made from a capture without its body.

The list keeps up to 1,500 rows; holding each capture whole would hold up to 1,500 bodies
(of up to `--max-body` each). A summary keeps what the row shows and the few fields the app
acts on; the detail pane reads the whole capture from the store when its row is chosen.
`newest_rows` reads the rows of a list from the store. No Textual, no Rich.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from hookbin.bodies import sniff_json
from hookbin.model import Capture, Forwarded, outcome_text
from hookbin.signatures.check import SignatureCheck
from hookbin.store import Filter, SQLiteStore

__all__ = ["RowSummary", "newest_rows"]

PAGE = 25
"""Captures read at a time by `newest_rows`: bodies and all, so few (25 of 10 MiB is 250 MiB)."""


@dataclass(frozen=True, slots=True)
class RowSummary:
    """One capture as its list row shows it: everything but the body, headers and answer body.

    Its fields are named, and mean, as `Capture`'s and `ResponseGiven`'s.
    """

    id: str
    received_at: datetime
    method: str
    path: str
    query_string: str
    body_size: int
    """The size the sender declared or sent (the row's `size`)."""
    truncated: bool
    invalid_json: bool
    """Declared JSON that does not parse (bodies too large to sniff are not marked)."""
    status: int | None
    """The status hookbin answered; None while no answer is recorded."""
    fault: str | None
    sender_gone_ms: float | None
    """When the sender hung up before the answer was complete; None when it stayed."""
    attempt: int | None
    signature: SignatureCheck | None
    run: int | None
    delivery_key: str | None
    forward: Forwarded | None
    """What the app said when the capture was forwarded (`serve --forward`), for the row's mark."""

    @classmethod
    def of(cls, capture: Capture) -> RowSummary:
        """The row of `capture` (it parses a JSON body of up to 256 KiB: not for the event loop)."""
        return cls(
            id=capture.id,
            received_at=capture.received_at,
            method=capture.method,
            path=capture.path,
            query_string=capture.query_string,
            body_size=capture.body_size,
            truncated=capture.truncated,
            invalid_json=_invalid_json(capture),
            status=None,
            fault=None,
            sender_gone_ms=None,
            attempt=capture.attempt,
            signature=capture.signature,
            run=capture.run,
            delivery_key=capture.delivery_key,
            forward=None,
        ).settled(capture)

    def settled(self, capture: Capture) -> RowSummary:
        """This row with the answer and forward result of `capture` (this row's capture as now
        stored: say, now that the answer's outcome is known)."""
        response = capture.response
        return replace(
            self,
            status=response.status if response else None,
            fault=response.fault if response else None,
            sender_gone_ms=response.sender_gone_ms if response else None,
            forward=capture.forward,
        )

    @property
    def url_path(self) -> str:
        """Path plus `?query` as the sender wrote it."""
        return f"{self.path}?{self.query_string}" if self.query_string else self.path

    @property
    def outcome(self) -> str:
        """What the sender got, in one word (see `model.outcome_text`)."""
        return outcome_text(self.status, self.fault, self.sender_gone_ms is not None)


def _invalid_json(capture: Capture) -> bool:
    if not capture.body or "json" not in capture.content_type.lower():
        return False
    try:
        return sniff_json(capture.body, capture.headers).kind == "invalid_json"
    except Exception:  # a body no decoder foresaw: its row is still listed, unmarked
        return False


def newest_rows(store: SQLiteStore, limit: int, flt: Filter | None = None) -> list[RowSummary]:
    """The rows of the newest `limit` captures that pass `flt`, oldest first (slow: run it in a thread).

    Read a few captures at a time, each summarised before the next page is read, so that the
    bodies of a thousand captures are never in memory at once.

    Raises:
        StoreError: the store cannot be read, or `flt` is not valid.
    """
    rows: dict[str, RowSummary] = {}
    offset = 0
    while len(rows) < limit:
        page = store.list_captures(limit=min(PAGE, limit - offset), offset=offset, flt=flt)
        for capture in page:
            rows.setdefault(capture.id, RowSummary.of(capture))
        if len(page) < PAGE:
            break
        offset += len(page)
    return sorted(rows.values(), key=lambda row: row.id)[-limit:]
