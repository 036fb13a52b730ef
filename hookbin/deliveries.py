"""Which requests are attempts of one delivery: the delivery key and attempt numbering (pure).

A sender that retries sends the same delivery again. The key is the first of: a user-chosen
header or JSON field (`--delivery-key`), a known id header (`webhook-id`, `X-GitHub-Delivery`,
...), a known id field at the top of a JSON body (`event_id`, `messageId`, `id`; bodies over
`bodies.JSON_SNIFF_LIMIT` are not parsed), else a hash of method + path + body (Segmanta sends
no id, and its retries repeat the same body).
`group_deliveries` turns stored captures, or their summaries, back into deliveries and their attempts.
"""

from __future__ import annotations

import difflib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from hookbin.bodies import JSON_SNIFF_LIMIT, SHOWN_CHARS, decode_capture, sniff_json
from hookbin.durations import parse_retry_after
from hookbin.model import (
    DROPS,
    Capture,
    Headers,
    header_get,
    outcome_text,
    reached_sender,
)

if TYPE_CHECKING:  # summaries builds on this module (`grouping_key`): grouping imports it when it runs
    from hookbin.summaries import CaptureSummary

try:  # the `fast` extra: keys are read from a JSON body several times faster
    import orjson
except ImportError:  # pragma: no cover - without it, every body is read the exact way only
    orjson = None  # type: ignore[assignment]

ID_HEADERS = (
    "webhook-id",  # Standard Webhooks
    "svix-id",
    "x-github-delivery",
    "x-shopify-webhook-id",
    "x-shopify-event-id",
)
"""Headers that senders keep the same across the retries of one delivery."""

ID_FIELDS = ("event_id", "messageId", "id")
"""Top-level JSON body fields that name a delivery (Typeform/SurveyMonkey, Survicate, Stripe)."""

_MAX_KEY = 200


class KeySpecError(ValueError):
    """A `--delivery-key` value that cannot be used."""


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A user's choice of where the delivery key comes from."""

    kind: str
    """`header` or `json`."""
    name: str
    """The header name, or the dotted JSON path (`data.id`, `items.0.id`)."""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def parse_key_spec(text: str) -> KeySpec:
    """Parse `header:NAME` or `json:PATH` (a leading `$.` on the path is allowed)."""
    kind, sep, name = text.partition(":")
    kind = kind.strip().lower()
    name = name.strip()
    if not sep or kind not in ("header", "json") or not name:
        raise KeySpecError(f"bad delivery key {text!r}: use header:NAME or json:PATH, e.g. json:data.id")
    if kind == "json" and name.startswith("$."):
        name = name[2:]
    return KeySpec(kind, name)


def _json_at(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _scalar(value: Any, exact: bool = True) -> str | None:
    """A JSON value as a key: a non-empty string or a number, as text; None for anything else.

    Raises:
        _Approximate: for a number read inexactly (see `_quick_json`).
    """
    if isinstance(value, bool) or value is None:
        return None
    if not exact and isinstance(value, (int, float)):
        raise _Approximate
    if isinstance(value, (str, int, float)) and str(value):
        return str(value)[:_MAX_KEY]
    return None


def delivery_key(method: str, path: str, headers: Headers, body: bytes, spec: KeySpec | None = None) -> tuple[str, str]:
    """The delivery key of one request and where it came from.

    Returns:
        `(key, source)`, source being e.g. `header:webhook-id`, `json:event_id` or `hash`.
    """
    return read_delivery_key(method, path, headers, body, spec)[:2]


class KeyRead(NamedTuple):
    """A request's delivery key (see `delivery_key`), and the body as read for it."""

    key: str
    source: str
    document: dict[str, Any] | None
    """The body's JSON object as orjson read it, if the key was looked for in a body that
    starts with `{`; None otherwise. The store's summary reads the same document
    (`summary_of(capture, document=...)`) rather than parsing the body a second time."""


def read_delivery_key(method: str, path: str, headers: Headers, body: bytes, spec: KeySpec | None = None) -> KeyRead:
    """`delivery_key`, with the document it read (see `KeyRead`)."""
    read: list[Any] = []

    def quick(data: bytes) -> tuple[Any, bool]:
        document, exact = _quick_json(data)
        if not exact:  # orjson's own reading: json's numbers may differ, its structure not
            read.append(document)
        return document, exact

    try:
        key, source = _delivery_key(method, path, headers, body, spec, quick)
    except _Approximate:
        return KeyRead(*_delivery_key(method, path, headers, body, spec, _exact_json), None)
    return KeyRead(key, source, read[0] if read else None)


class _Approximate(Exception):
    """The key would come from a number that `_quick_json` may have read otherwise than `sniff_json`."""


def _exact_json(body: bytes) -> tuple[Any, bool]:
    """The body as the views read it (`sniff_json`), and True: every value in it is exact."""
    return sniff_json(body).value, True


def _quick_json(body: bytes) -> tuple[Any, bool]:
    """The body read as `sniff_json` would, but by orjson where it can: (document, numbers exact).

    orjson's strings, objects (the last of duplicate keys wins), arrays, booleans and nulls are
    json's; its numbers may not be (integers over 64 bits become floats), so they are marked
    inexact. It refuses all that json accepts beyond RFC 8259 (NaN, lone surrogates, overflow),
    and only a body starting with `{` (no BOM, no blank) is tried: anything else is read exactly.
    """
    if orjson is not None and body[:1] == b"{" and len(body) <= JSON_SNIFF_LIMIT:
        try:
            return orjson.loads(body), False
        except orjson.JSONDecodeError:
            pass
    return _exact_json(body)


def _delivery_key(
    method: str,
    path: str,
    headers: Headers,
    body: bytes,
    spec: KeySpec | None,
    read_json: Callable[[bytes], tuple[Any, bool]],
) -> tuple[str, str]:
    document: Any = None
    exact = parsed = False
    if spec is not None:
        if spec.kind == "header":
            value = header_get(headers, spec.name)
            if value:
                return value[:_MAX_KEY], str(spec)
        else:
            (document, exact), parsed = read_json(body), True
            value = _scalar(_json_at(document, spec.name), exact)
            if value is not None:
                return value, str(spec)
    # Each name lower-cased once, rather than once per known header; the first of a name wins.
    first = {name.lower(): value for name, value in reversed(headers)}
    for name in ID_HEADERS:
        value = first.get(name)
        if value:
            return value[:_MAX_KEY], f"header:{name}"
    if not parsed:
        document, exact = read_json(body)
    if isinstance(document, dict):
        for name in ID_FIELDS:
            value = _scalar(document.get(name), exact)
            if value is not None:
                return value, f"json:{name}"
    digest = hashlib.sha256()
    for part in (_raw(method), _raw(path)):
        digest.update(part + b"\0")
    digest.update(body)
    return "sha256:" + digest.hexdigest()[:16], "hash"


def _raw(text: str) -> bytes:
    """The bytes a text came from: undecodable bytes kept as escapes come back as themselves, and
    any other lone surrogate (never from the wire, but a stored capture may hold one) as UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


class AttemptCounter:
    """Numbers the attempts of each delivery within a run: 1 for the first request with a key, 2 for the next.

    A new run starts every count again (the same experiment run twice numbers the same
    attempts the same way). Bounded: past `max_keys` deliveries the least recently seen are
    forgotten (a very late retry of a forgotten delivery then counts as attempt 1).
    """

    def __init__(self, max_keys: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._max = max_keys
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._run: int | None = None

    def next(self, key: str, run: int | None = None) -> int:
        """Count one more request of delivery `key` in `run` and return its attempt number."""
        with self._lock:
            if run != self._run:
                self._attempts.clear()
                self._run = run
            attempt = self._attempts.pop(key, 0) + 1
            self._attempts[key] = attempt
            while len(self._attempts) > self._max:
                self._attempts.popitem(last=False)
            return attempt

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()


# ------------------------------------------------------------------------------------------
# Grouping stored captures into deliveries and their attempts (pure; for reports and views)

DIFF_LIMIT = 200
"""Most diff lines kept for one attempt whose body changed; a last line says how many more."""

_DIFF_CONTEXT = 2


class Attempt(NamedTuple):
    """One request of a delivery, with what hookbin answered and how it relates to the one before.

    Named tuples rather than frozen dataclasses (as `CaptureSummary`): the report makes one per
    capture, a hundred thousand at a time, and a tuple is made about ten times faster.
    """

    capture_id: str
    number: int
    """The attempt number as stored (1 = first request); its position when none was stored."""
    received_at: datetime
    since_previous: timedelta | None
    """Time since the delivery's previous attempt arrived; None for the first one seen."""
    backoff: timedelta | None
    """Time since the delivery's previous attempt ended (see `ended_at`): how long the sender
    waited before trying again; None for the first one seen."""
    status: int | None
    """Status hookbin answered; None when it answered nothing (close/reset) or is unknown."""
    fault: str | None
    """`close`, `reset` or `drip` when hookbin misbehaved on purpose, else None."""
    retry_after: float | None
    """Seconds hookbin asked the sender to wait (its Retry-After header), else None."""
    body_changed: bool
    """True when the body bytes differ from the previous attempt's."""
    diff: tuple[str, ...]
    """Unified diff of the readable bodies (pretty JSON or text) when changed, at most ~200 lines."""
    method: str
    path: str
    user_agent: str | None
    delay_ms: float = 0.0
    """How long hookbin held its answer back (`delay=`, `timeout`)."""
    drip_ms: float = 0.0
    """For `drip`: the time over which the body was trickled out."""
    delivered: bool | None = None
    """Whether hookbin's whole answer was written to the sender (see `ResponseGiven.delivered`)."""
    sender_gone_ms: float | None = None
    """When the sender hung up before the answer was complete, in ms after this attempt arrived."""

    @property
    def reached(self) -> bool:
        """The whole answer reached the sender (see `model.reached_sender`)."""
        return reached_sender(self.delivered, self.fault, self.delay_ms)

    @property
    def ended_at(self) -> datetime:
        """When the sender was done with this attempt: when it hung up, else when hookbin's
        answer was complete (after its delay, and its drip). When that was not recorded (older
        captures, an answer still held back), its arrival."""
        if self.sender_gone_ms is not None:
            return self.received_at + timedelta(milliseconds=self.sender_gone_ms)
        if self.delivered is None:
            return self.received_at
        drip_ms = self.drip_ms if self.fault == "drip" else 0.0
        return self.received_at + timedelta(milliseconds=self.delay_ms + drip_ms)

    @property
    def outcome(self) -> str:
        """What the sender got: the status, `gone`, `close`/`reset`, or `---` (see `model.outcome_text`)."""
        return outcome_text(self.status, self.fault, self.sender_gone_ms is not None)

    @property
    def accepted(self) -> bool:
        """hookbin answered 2xx and the answer reached the sender."""
        return self.status is not None and 200 <= self.status < 300 and self.reached

    def to_dict(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "number": self.number,
            "received_at": self.received_at.isoformat(timespec="microseconds"),
            "since_previous": (None if self.since_previous is None else round(self.since_previous.total_seconds(), 6)),
            "backoff": None if self.backoff is None else round(self.backoff.total_seconds(), 6),
            "status": self.status,
            "fault": self.fault,
            "delay_ms": round(self.delay_ms, 3),
            "delivered": self.delivered,
            "sender_gone_ms": None if self.sender_gone_ms is None else round(self.sender_gone_ms, 3),
            "accepted": self.accepted,
            "retry_after": self.retry_after,
            "body_changed": self.body_changed,
            "diff": list(self.diff),
            "method": self.method,
            "path": self.path,
            "user_agent": self.user_agent,
        }


class Delivery(NamedTuple):
    """Every attempt the sender made to deliver one thing in one run, oldest first (a named
    tuple, as `Attempt`)."""

    key: str
    source: str
    """Where the key came from: `header:webhook-id`, `json:event_id`, `hash`, ..."""
    attempts: tuple[Attempt, ...]
    first_at: datetime
    last_at: datetime
    accepted: bool
    """Whether any attempt was accepted: answered 2xx, and the sender stayed for the answer."""
    accepted_at_attempt: int | None
    """Number of the first attempt accepted, else None."""
    sender: str
    """The first attempt's User-Agent, else `path /the/path`."""
    run: int | None = None
    """The run the attempts arrived in; None for captures from before runs."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "run": self.run,
            "source": self.source,
            "sender": self.sender,
            "first_at": self.first_at.isoformat(timespec="microseconds"),
            "last_at": self.last_at.isoformat(timespec="microseconds"),
            "accepted": self.accepted,
            "accepted_at_attempt": self.accepted_at_attempt,
            "attempts": [attempt.to_dict() for attempt in self.attempts],
        }


def _readable_body(capture: Capture) -> str:
    """The body as the views show it, at most about SHOWN_CHARS characters (diffs stay cheap)."""
    view = decode_capture(capture)
    if view.kind == "binary":
        return view.hex_preview
    if view.pretty:
        return view.pretty
    if view.text is not None:
        return view.text[:SHOWN_CHARS]
    return view.data[:SHOWN_CHARS].decode("utf-8", "surrogateescape")


def body_diff(before: Capture, after: Capture, limit: int = DIFF_LIMIT) -> tuple[str, ...]:
    """Unified diff lines from `before`'s readable body to `after`'s, at most `limit` (+1 note)."""
    old, new = _readable_body(before), _readable_body(after)
    if old == new:
        return ("(the bodies differ only in bytes the readable form hides: spacing or encoding)",)
    lines = list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            f"attempt {before.attempt or '?'}",
            f"attempt {after.attempt or '?'}",
            n=_DIFF_CONTEXT,
            lineterm="",
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"… {len(lines) - limit} more diff lines"]
    return tuple(lines)


def user_agent(headers: Headers) -> str | None:
    """The sender's name as a request gives it: its first User-Agent header."""
    return header_get(headers, "user-agent")


def grouping_key(capture: Capture) -> tuple[str, str]:
    """The delivery `capture` is grouped under, and where that came from: its stored key and
    source, or for a capture stored without a key (an import from another tool), the key
    `delivery_key` computes from the request."""
    if capture.delivery_key:
        return capture.delivery_key, capture.delivery_source or "?"
    return delivery_key(capture.method, capture.path, capture.headers, capture.body)


Listed: TypeAlias = "Capture | CaptureSummary"
"""What deliveries are grouped from: whole captures, or summaries read without their bodies."""


def _attempts(members: list[CaptureSummary], whole: dict[str, Capture]) -> tuple[Attempt, ...]:
    """The attempts of one delivery from its summaries, sorted; a changed body's diff where
    both captures are in `whole` (lean: the report makes one attempt per capture)."""
    attempts: list[Attempt] = []
    before: CaptureSummary | None = None
    for position, item in enumerate(members, 1):
        status, fault, delay_ms, drip_ms, delivered, sender_gone_ms, _, _, retry_header = item.answer
        received_at = item.received_at
        retry_after = None
        if retry_header is not None and status is not None:
            retry_after = parse_retry_after(retry_header, received_at + timedelta(milliseconds=delay_ms))
        diff: tuple[str, ...] = ()
        if before is None:
            since_previous = backoff = None
            changed = False
        else:
            since_previous = received_at - before.received_at
            backoff = received_at - attempts[-1].ended_at
            changed = before.body_digest != item.body_digest
            if changed and before.id in whole and item.id in whole:
                diff = body_diff(whole[before.id], whole[item.id])  # else `with_diffs` makes it when asked
        attempts.append(
            Attempt(
                item.id,
                item.attempt or position,
                received_at,
                since_previous,
                backoff,
                None if fault in DROPS else status,
                fault,
                retry_after,
                changed,
                diff,
                item.method,
                item.path,
                item.user_agent,
                delay_ms,
                drip_ms,
                delivered,
                sender_gone_ms,
            )
        )
        before = item
    return tuple(attempts)


def group_deliveries(captures: Iterable[Listed]) -> list[Delivery]:
    """Group captures or their summaries (in any order) into deliveries, each with its attempts
    by arrival time.

    A delivery is one key within one run: the same body sent again in a later run is a new
    delivery, as its attempt numbers say. Deliveries come oldest first (by their first
    attempt). A capture stored without a delivery key (older data) is grouped by
    `grouping_key`. The diff of a changed body is made where both attempts are whole captures;
    for summaries, `with_diffs` makes it.
    """
    # Deferred: `summaries` builds on this module (`grouping_key`); grouping reads summaries.
    from hookbin.summaries import CaptureSummary, summary_of

    whole: dict[str, Capture] = {}
    groups: dict[tuple[int | None, str], list[CaptureSummary]] = {}
    for item in captures:
        if not isinstance(item, CaptureSummary):
            whole[item.id] = item
            item = summary_of(item, shown=False)  # no body parsed for what grouping does not read
        groups.setdefault((item.run, item.group_key), []).append(item)
    deliveries: list[Delivery] = []
    for (run, key), members in groups.items():
        source = members[0].group_source  # that of its first capture as given, not as sorted
        if len(members) > 1:
            members.sort(key=lambda s: (s.received_at, s.attempt or 0, s.id))
        attempts = _attempts(members, whole)
        first = attempts[0]
        accepted_at = next((a.number for a in attempts if a.accepted), None)
        deliveries.append(
            Delivery(  # key, source, attempts, first_at, last_at, accepted, accepted_at_attempt, sender, run
                key,
                source,
                attempts,
                first.received_at,
                attempts[-1].received_at,
                accepted_at is not None,
                accepted_at,
                first.user_agent or f"path {first.path}",
                run,
            )
        )
    deliveries.sort(key=_first_attempt)
    return deliveries


def _first_attempt(delivery: Delivery) -> tuple[datetime, str]:
    """The order of deliveries: by their first attempt's arrival, then its id."""
    return delivery.first_at, delivery.attempts[0].capture_id


def with_diffs(delivery: Delivery, load: Callable[[str], Capture | None]) -> Delivery:
    """`delivery` with the diffs of its changed bodies, reading the captures with `load` (the
    store's `get`) where grouping had summaries only; an attempt whose capture is gone keeps none."""
    missing = [i for i, a in enumerate(delivery.attempts) if a.body_changed and not a.diff and i]
    if not missing:
        return delivery
    loaded: dict[str, Capture | None] = {}

    def capture(capture_id: str) -> Capture | None:
        if capture_id not in loaded:
            loaded[capture_id] = load(capture_id)
        return loaded[capture_id]

    attempts = list(delivery.attempts)
    for index in missing:
        before, after = capture(attempts[index - 1].capture_id), capture(attempts[index].capture_id)
        if before is not None and after is not None:
            attempts[index] = attempts[index]._replace(diff=body_diff(before, after))
    return delivery._replace(attempts=tuple(attempts))
