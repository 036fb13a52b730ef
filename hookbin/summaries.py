"""`summary_of`: a capture as the lists show it, the one definition of what they derive from it (pure).

The survey a Segmanta body names, whether declared JSON is broken, the sender's User-Agent,
a fingerprint of the body and the delivery it is grouped under are read from headers and body
once, when the store writes the capture, and kept beside it: `hookbin ls`, the TUI's rows,
`hookbin deliveries` and the report then read them without reading any body.
"""

from __future__ import annotations

import logging
from typing import Any

from hookbin.bodies import JSON_SNIFF_LIMIT, JsonRead, media_type, sniff_json
from hookbin.deliveries import grouping_key, user_agent
from hookbin.model import Capture, CaptureSummary, Headers, answer_fields, body_digest, header_get
from hookbin.segmanta import survey_label

try:  # the `fast` extra: the store reads each body for its summary, on its writer thread
    import orjson
except ImportError:  # pragma: no cover - without it, every body is read the exact way only
    orjson = None  # type: ignore[assignment]

__all__ = ["invalid_json", "settled", "summary_of"]

log = logging.getLogger(__name__)

_NESTING = 400
"""Fewer `{` and `[` than this and no body nests deep enough for json to give up where orjson
does not (json stops at Python's recursion limit, 1000 less what the stack holds; orjson at 1024)."""


def invalid_json(body: bytes, headers: Headers, read: JsonRead | None = None) -> bool:
    """Declared JSON that does not parse (bodies too large to read are not marked).

    `read` is `sniff_json(body, headers)` when the caller has it already.
    """
    if not body or "json" not in (header_get(headers, "content-type", "") or "").lower():
        return False
    return (read or sniff_json(body, headers)).kind == "invalid_json"


def _quick_read(body: bytes, headers: Headers) -> JsonRead | None:
    """`sniff_json(body, headers)` read by orjson, several times faster, where that reads the same:
    an `application/json` object in UTF-8, not content-coded, not nested deep (see `_NESTING`);
    None elsewhere, and where orjson refuses what json may accept (NaN, lone surrogates, overflow).

    Its numbers may not be json's (integers over 64 bits become floats): see `summary_of`.
    """
    if orjson is None or body[:1] != b"{" or len(body) > JSON_SNIFF_LIMIT:
        return None
    mtype, params = media_type(headers)
    if mtype != "application/json" or params.get("charset", "utf-8").strip().lower() not in ("utf-8", "utf8"):
        return None
    if header_get(headers, "content-encoding") is not None or body.count(b"{") + body.count(b"[") >= _NESTING:
        return None
    try:
        return JsonRead("json", orjson.loads(body))
    except orjson.JSONDecodeError:
        return None


def _exact_survey(document: Any) -> bool:
    """Whether the fields `survey_label` reads were read as json reads them: a float may be an
    integer over 64 bits that orjson made a float."""
    if not isinstance(document, dict):
        return True
    return not any(isinstance(document.get(name), float) for name in ("survey_name", "survey_id"))


def summary_of(capture: Capture) -> CaptureSummary:
    """What the lists show of `capture` (see `CaptureSummary`).

    Never raises: should a body ever trip what reads it, the capture is summarised without what
    its body would tell (no survey, not marked invalid, grouped by its stored key or its id), so
    that its row is listed and the captures stored with it are not lost.
    """
    try:
        read = _quick_read(capture.body, capture.headers)
        if read is None or not _exact_survey(read.value):
            read = sniff_json(capture.body, capture.headers)
        survey, invalid = survey_label(read.value), invalid_json(capture.body, capture.headers, read)
        key, source = grouping_key(capture)
    except Exception:
        log.exception("could not read the body of capture %s for its summary", capture.id)
        survey, invalid = None, False
        key, source = capture.delivery_key or f"capture:{capture.id}", capture.delivery_source or "?"
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
        survey,
        invalid,
        user_agent(capture.headers),
        body_digest(capture.body),
        key,
        source,
    )


def settled(summary: CaptureSummary, capture: Capture) -> CaptureSummary:
    """`summary` with what its capture learnt since it was stored (`OutcomeRecorded`): the
    answer's outcome and the forward result of `capture`, the same capture as now stored. The
    same as `summary_of(capture)`, without reading the body again."""
    answer = answer_fields(capture.response)
    return CaptureSummary._make((*summary[:7], *answer, *summary[16:21], capture.forward, *summary[22:]))
