"""`summary_of`: a capture as the lists show it, the one definition of what they derive from it (pure).

The survey a Segmanta body names, whether declared JSON is broken, the sender's User-Agent,
a fingerprint of the body and the delivery it is grouped under are read from headers and body
once, when the store writes the capture, and kept beside it: `hookbin ls`, the TUI's rows,
`hookbin deliveries` and the report then read them without reading any body.
"""

from __future__ import annotations

from hookbin.bodies import JsonRead, sniff_json
from hookbin.deliveries import grouping_key, user_agent
from hookbin.model import Capture, CaptureSummary, Headers, answer_fields, body_digest, header_get
from hookbin.segmanta import survey_label

__all__ = ["invalid_json", "summary_of"]


def invalid_json(body: bytes, headers: Headers, read: JsonRead | None = None) -> bool:
    """Declared JSON that does not parse (bodies too large to read are not marked).

    `read` is `sniff_json(body, headers)` when the caller has it already.
    """
    if not body or "json" not in (header_get(headers, "content-type", "") or "").lower():
        return False
    return (read or sniff_json(body, headers)).kind == "invalid_json"


def summary_of(capture: Capture) -> CaptureSummary:
    """What the lists show of `capture` (see `CaptureSummary`)."""
    read = sniff_json(capture.body, capture.headers)
    key, source = grouping_key(capture)
    return CaptureSummary(
        capture.id,
        capture.received_at,
        capture.method,
        capture.path,
        capture.query_string,
        capture.body_size,
        capture.truncated,
        *answer_fields(capture.response),
        capture.delivery_key,
        capture.delivery_source,
        capture.attempt,
        capture.signature,
        capture.run,
        capture.forward,
        survey_label(read.value),
        invalid_json(capture.body, capture.headers, read),
        user_agent(capture.headers),
        body_digest(capture.body),
        key,
        source,
    )
