"""`CaptureSummary` and `summary_of`: a capture as the lists show it, without its body (pure).

`summary_of` is the one definition of what the lists derive from a capture. The survey a
Segmanta body names, whether declared JSON is broken, the sender's User-Agent,
a fingerprint of the body and the delivery it is grouped under are read from headers and body
once, when the store writes the capture, and kept beside it: `hookbin ls`, the TUI's rows,
`hookbin deliveries` and the report then read them without reading any body.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any, NamedTuple

from hookbin.bodies import JSON_SNIFF_LIMIT, JsonRead, media_type, sniff_json
from hookbin.deliveries import grouping_key, user_agent
from hookbin.model import (
    AnswerFields,
    Capture,
    Forwarded,
    Headers,
    answer_fields,
    answer_note,
    body_digest,
    header_get,
    outcome_text,
    url_path_of,
)
from hookbin.segmanta import survey_label
from hookbin.signatures.check import SignatureCheck

try:  # the `fast` extra: the store reads each body for its summary, on its writer thread
    import orjson
except ImportError:  # pragma: no cover - without it, every body is read the exact way only
    orjson = None  # type: ignore[assignment]

__all__ = ["CaptureSummary", "invalid_json", "settled", "summary_of"]

log = logging.getLogger(__name__)

_NESTING = 400
"""Fewer `{` and `[` than this and no body nests deep enough for json to give up where orjson
does not (json stops at Python's recursion limit, 1000 less what the stack holds; orjson at 1024)."""


class CaptureSummary(NamedTuple):
    """What lists show of a capture, without its headers or body: a row of `hookbin ls` and of
    the TUI's list, an attempt in `hookbin deliveries` and the report.

    `hookbin.summaries.summary_of` makes one from a capture (the one definition of the fields
    derived from headers and body); the store keeps them in columns written with each capture,
    so reading summaries reads no body. The store's `get(id)` gives the whole capture.
    Fields named as `Capture`'s mean the same; the answer's are `ResponseGiven`'s.

    Immutable like the rest of the model, but a named tuple rather than a frozen dataclass:
    lists read summaries by the hundred thousand, and a tuple is made about ten times faster.
    """

    id: str
    received_at: datetime
    method: str
    path: str
    query_string: str
    body_size: int
    truncated: bool
    status: int | None
    """The status answered (for a dropped connection, the one that would have been sent); None
    when no answer is recorded."""
    fault: str | None
    delay_ms: float
    drip_ms: float
    delivered: bool | None
    sender_gone_ms: float | None
    bytes_sent: int | None
    answer_size: int
    """Bytes in the body of hookbin's answer."""
    retry_after: str | None
    """The Retry-After header hookbin answered with, as sent; None without one."""
    delivery_key: str | None
    delivery_source: str | None
    attempt: int | None
    signature: SignatureCheck | None
    run: int | None
    forward: Forwarded | None
    survey: str | None
    """The Segmanta survey, for lists: its name, else `survey id 1234`; None for other bodies."""
    invalid_json: bool
    """Declared JSON that does not parse (bodies too large to read are not marked)."""
    user_agent: str | None
    """The first User-Agent header, which names the sender in the report."""
    body_digest: bytes
    """`body_digest(body)`: attempts whose digests differ changed their body."""
    group_key: str
    """The delivery the report and `deliveries` group this capture under: `delivery_key`, or for
    a capture stored without one (an import), the key computed from the request."""
    group_source: str
    """Where `group_key` came from, as `delivery_source` says it (`?` when not recorded)."""

    @property
    def answer(self) -> AnswerFields:
        """The answer's fields, as `answer_fields` gives them for a capture's response."""
        return self[7:16]  # status to retry_after: the fields are in `answer_fields`' order

    @property
    def outcome(self) -> str:
        """What the sender got: the status, `gone`, `close`/`reset`, or `---` (see `outcome_text`)."""
        return outcome_text(self.status, self.fault, self.sender_gone_ms is not None)

    @property
    def note(self) -> str:
        """Whether the sender got the answer, in a sentence (see `answer_note`); empty without one."""
        if self.status is None:
            return ""
        return answer_note(self.status, *self.answer[1:8])  # fault to answer_size: answer_note's order

    @property
    def url_path(self) -> str:
        """Path plus `?query` as the sender wrote it."""
        return url_path_of(self.path, self.query_string)


def invalid_json(body: bytes, headers: Headers, read: JsonRead | None = None) -> bool:
    """Declared JSON that does not parse (bodies too large to read are not marked).

    `read` is `sniff_json(body, headers)` when the caller has it already.
    """
    if not body or "json" not in (header_get(headers, "content-type", "") or "").lower():
        return False
    return (read or sniff_json(body, headers)).kind == "invalid_json"


_NOT_QUICK = object()
"""What `_quick_read` gives where it cannot read as json would."""


def _quick_read(body: bytes, headers: Headers, document: dict[str, Any] | None = None) -> Any:
    """The document `sniff_json(body, headers)` reads, read by orjson, several times faster,
    where that reads the same: an `application/json` object in UTF-8, not content-coded, not
    nested deep (see `_NESTING`); `_NOT_QUICK` elsewhere, and where orjson refuses what json may
    accept (NaN, lone surrogates, overflow). Such a body is JSON, not invalid JSON.

    `document` is what orjson already read from `body`, if anything did (the catcher, for the
    delivery key): given, it is used where orjson would be, not read again.

    Its numbers may not be json's (integers over 64 bits become floats): see `summary_of`.
    """
    if orjson is None or body[:1] != b"{" or len(body) > JSON_SNIFF_LIMIT:
        return _NOT_QUICK
    if not _quick_type(header_get(headers, "content-type")) or header_get(headers, "content-encoding") is not None:
        return _NOT_QUICK
    if body.count(b"{") + body.count(b"[") >= _NESTING:
        return _NOT_QUICK
    if document is not None:
        return document
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _NOT_QUICK


@functools.lru_cache(maxsize=64)
def _quick_type(content_type: str | None) -> bool:
    """Whether a Content-Type is `application/json` in UTF-8 (the few that senders send, cached)."""
    if content_type is None:
        return False
    mtype, params = media_type((("Content-Type", content_type),))
    return mtype == "application/json" and params.get("charset", "utf-8").strip().lower() in ("utf-8", "utf8")


def _exact_survey(document: Any) -> bool:
    """Whether the fields `survey_label` reads were read as json reads them: a float may be an
    integer over 64 bits that orjson made a float."""
    if not isinstance(document, dict):
        return True
    return not any(isinstance(document.get(name), float) for name in ("survey_name", "survey_id"))


def summary_of(capture: Capture, *, shown: bool = True, document: dict[str, Any] | None = None) -> CaptureSummary:
    """What the lists show of `capture` (see `CaptureSummary`).

    With `shown=False`, what only a list shows (the survey, the invalid-JSON mark) is left out,
    and the body not parsed for it: grouping deliveries of whole captures needs none of it.
    `document` is the body as orjson read it already, if it was (`KeyRead.document`): the
    summary is the same with it or without, only cheaper.

    Never raises: should a body ever trip what reads it, the capture is summarised without what
    its body would tell (no survey, not marked invalid, grouped by its stored key or its id), so
    that its row is listed and the captures stored with it are not lost.
    """
    survey, invalid = None, False
    try:
        if shown:
            quick = _quick_read(capture.body, capture.headers, document)
            if quick is not _NOT_QUICK and _exact_survey(quick):
                survey = survey_label(quick)
            else:
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
