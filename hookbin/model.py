"""The capture model: what hookbin received and what it answered, as plain frozen data.

Nothing here knows about aiohttp, SQLite or Textual. A `Capture` is built once by the
catcher, written once by the store, and never changed afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from hookbin.signatures.check import SignatureCheck

Headers = tuple[tuple[str, str], ...]
"""Header (name, value) pairs in arrival order, duplicates kept."""

# Crockford's base32 alphabet, lower-cased: sorts the same as the numbers it encodes.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS = 9  # 45 bits of milliseconds: good until the year 3084
_RAND_CHARS = 3  # 15 bits, incremented within one millisecond so ids stay sorted
ID_LENGTH = _TIME_CHARS + _RAND_CHARS
_ID_FORM = re.compile(r"[0-9a-z]{1,40}")


def _b32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
"""Every two-character run, by the 10 bits it encodes: the first two of the `_RAND_CHARS` (3)."""


class IdGenerator:
    """Makes short ids that sort in creation order (ULID-like, 12 characters).

    The first 9 characters encode the millisecond, the last 3 a random start that is
    incremented for further ids within the same millisecond.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Seeded from os.urandom once: a system call for every millisecond costs the catcher.
        self._random = random.Random()
        self._last_ms = -1
        self._last_rand = 0
        self._prefix = ""
        """The time characters of `_last_ms`: the catcher makes several ids a millisecond."""

    def new(self, now_ms: int | None = None) -> str:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        with self._lock:
            if ms <= self._last_ms:
                ms = self._last_ms
                self._last_rand += 1
                if self._last_rand >= 32**_RAND_CHARS:
                    ms += 1
                    self._last_rand = self._random.getrandbits(14)
            else:
                self._last_rand = self._random.getrandbits(14)
            if ms != self._last_ms:
                self._last_ms = ms
                self._prefix = _b32(ms, _TIME_CHARS)
            rand = self._last_rand
            return self._prefix + _PAIRS[rand >> 5] + _ALPHABET[rand & 31]


new_id = IdGenerator().new


def stable_id(now_ms: int, content: bytes) -> str:
    """An id of the same form as `IdGenerator`'s for millisecond `now_ms`, its last characters
    taken from a hash of `content`: the same request imported twice gets the same id."""
    digest = int.from_bytes(hashlib.sha256(content).digest()[:4], "big")
    return _b32(now_ms, _TIME_CHARS) + _b32(digest, _RAND_CHARS)


def utcnow() -> datetime:
    """The current time in UTC, with microseconds."""
    return datetime.now(UTC)


DROPS = ("close", "reset")
"""The faults that drop the connection, so that the sender gets no status at all."""

GONE = "gone"
"""The outcome word for an answer the sender hung up before it was complete."""


def outcome_text(status: int | None, fault: str | None, gone: bool = False) -> str:
    """What the sender got, in one word: `gone` when it hung up before the answer was complete,
    `close` or `reset` for a dropped connection, else the status sent, or `---` when nothing is known."""
    if gone:
        return GONE
    if fault in DROPS:
        return fault
    return "---" if status is None else str(status)


def reached_sender(delivered: bool | None, fault: str | None, delay_ms: float) -> bool:
    """Whether an answer reached the sender whole: as recorded, else (a capture from before
    hookbin recorded it, or an answer still held back) only an answer sent at once, not held
    back (`delay=`, `drip=`) and not a dropped connection, counts as having reached it."""
    if delivered is not None:
        return delivered
    return fault not in DROPS and fault != "drip" and delay_ms <= 0


def _seconds(ms: float) -> str:
    """`2.00 s`, `12.5 s`, `600 s`: as precise as a reader of that length of time needs."""
    seconds = ms / 1000
    if seconds < 10:
        return f"{seconds:.2f} s"
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds:.0f} s"


def answer_note(
    status: int,
    fault: str | None,
    delay_ms: float,
    drip_ms: float,
    delivered: bool | None,
    sender_gone_ms: float | None,
    bytes_sent: int | None,
    body_size: int,
) -> str:
    """One plain sentence on whether the sender got an answer, for every view of it; empty when
    there is nothing to add (an answer sent at once, a dropped connection).

    The fields are `ResponseGiven`'s, `body_size` the length of its body.
    """
    if sender_gone_ms is not None:
        after = f"sender hung up after {_seconds(sender_gone_ms)}"
        if fault in DROPS:
            return f"{after}, before hookbin {'closed' if fault == 'close' else 'reset'} the connection"
        if fault == "drip" and bytes_sent is not None:
            return f"{after}, {bytes_sent} of {body_size} body bytes sent; the {status} was never fully delivered"
        return f"{after}; the {status} was never delivered"
    if fault in DROPS or not held_back(delay_ms, fault):
        return ""
    if delivered:
        return f"the sender waited: the {status} was delivered"
    if fault == "drip":
        return f"held back: the {status} is dripped over {_seconds(drip_ms)}" + (
            f" after {_seconds(delay_ms)}" if delay_ms else ""
        )
    return f"held back: the {status} goes out after {_seconds(delay_ms)}"


def held_back(delay_ms: float, fault: str | None) -> bool:
    """Whether an answer was not sent at once: held back by `delay=` or trickled out by `drip=`."""
    return delay_ms > 0 or fault == "drip"


def kept_ms(milliseconds: float) -> float:
    """Milliseconds as the JSON form, and so the store, keeps them: to the microsecond."""
    return round(milliseconds, 3)


def url_path_of(path: str, query_string: str) -> str:
    """Path plus `?query` as the sender wrote it."""
    return f"{path}?{query_string}" if query_string else path


def body_digest(body: bytes) -> bytes:
    """A fingerprint of body bytes (16 bytes of SHA-256): equal digests are taken as equal bodies,
    which is how attempts whose body changed are told apart without reading bodies again."""
    return hashlib.sha256(body).digest()[:16]


def header_get(headers: Headers, name: str, default: str | None = None) -> str | None:
    """The first value of header `name` (case-insensitive), or `default`."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return default


def header_get_all(headers: Headers, name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), in arrival order."""
    lname = name.lower()
    return [value for key, value in headers if key.lower() == lname]


@dataclass(frozen=True, slots=True)
class ResponseGiven:
    """What hookbin answered (or did instead of answering) for one capture."""

    status: int
    """HTTP status sent; for a connection fault, the status that would have been sent."""
    headers: Headers = ()
    """Response headers hookbin chose (aiohttp adds Date, Server, Content-Length)."""
    body: bytes = b""
    """Response body sent."""
    delay_ms: float = 0.0
    """Delay applied before answering, in milliseconds."""
    fault: str | None = None
    """Connection fault instead of a normal answer: `close`, `reset` or `drip`."""
    drip_ms: float = 0.0
    """For `drip`: the time over which the body was trickled out."""
    rule: str | None = None
    """The rule that chose this answer, as written; None for the default answer."""
    spec: str | None = None
    """The response spec in force, in its canonical text form."""
    step: int | None = None
    """1-based step of the spec's sequence that produced this answer."""
    reason: str | None = None
    """Why hookbin answered so when no spec did, e.g. `body too large`."""
    duration_ms: float = 0.0
    """Time from the request's arrival until the answer was decided and stored."""
    delivered: bool | None = None
    """Whether the whole answer was written to the sender: False when the sender hung up first
    or hookbin dropped the connection on purpose; None while an answer is held back (and for
    captures from hookbin versions that did not record it)."""
    sender_gone_ms: float | None = None
    """When the sender hung up before the answer was complete, in milliseconds after the
    request arrived; None when it stayed."""
    bytes_sent: int | None = None
    """For `drip`: the body bytes written before the sender hung up (all of them when it stayed)."""

    @property
    def held(self) -> bool:
        """The answer was not sent at once: held back by `delay=` or trickled out by `drip=`."""
        return held_back(self.delay_ms, self.fault)

    @property
    def reached(self) -> bool:
        """The whole answer reached the sender (see `reached_sender`)."""
        return reached_sender(self.delivered, self.fault, self.delay_ms)

    @property
    def outcome(self) -> str:
        """`gone`, `close`/`reset` for a dropped connection, else the status sent (see `outcome_text`)."""
        return outcome_text(self.status, self.fault, self.sender_gone_ms is not None)

    @property
    def note(self) -> str:
        """One plain sentence on whether the sender got this answer (see `answer_note`)."""
        return answer_note(
            self.status,
            self.fault,
            self.delay_ms,
            self.drip_ms,
            self.delivered,
            self.sender_gone_ms,
            self.bytes_sent,
            len(self.body),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            **_body_pair(self.body),
            "delay_ms": kept_ms(self.delay_ms),
            "fault": self.fault,
            "drip_ms": kept_ms(self.drip_ms),
            "rule": self.rule,
            "spec": self.spec,
            "step": self.step,
            "reason": self.reason,
            "duration_ms": kept_ms(self.duration_ms),
            "delivered": self.delivered,
            "sender_gone_ms": None if self.sender_gone_ms is None else kept_ms(self.sender_gone_ms),
            "bytes_sent": self.bytes_sent,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResponseGiven:
        return cls(
            status=int(data["status"]),
            headers=headers_from_json(data.get("headers", ())),
            body=body_from_json(data.get("body"), data.get("body_encoding")),
            delay_ms=float(data.get("delay_ms", 0.0)),
            fault=data.get("fault"),
            drip_ms=float(data.get("drip_ms", 0.0)),
            rule=data.get("rule"),
            spec=data.get("spec"),
            step=data.get("step"),
            reason=data.get("reason"),
            duration_ms=float(data.get("duration_ms", 0.0)),
            delivered=data.get("delivered"),
            sender_gone_ms=None if data.get("sender_gone_ms") is None else float(data["sender_gone_ms"]),
            bytes_sent=data.get("bytes_sent"),
        )


AnswerFields = tuple[int | None, str | None, float, float, bool | None, float | None, int | None, int, str | None]
"""An answer as a summary keeps it (see `answer_fields`)."""


def answer_fields(response: ResponseGiven | None) -> AnswerFields:
    """What a summary keeps of an answer (None: no answer recorded), in `CaptureSummary`'s order:
    status, fault, delay_ms, drip_ms, delivered, sender_gone_ms, bytes_sent, answer_size,
    retry_after. Times as the store keeps them (`kept_ms`), so that a capture and the same
    capture read back from the store have the same summary."""
    if response is None:
        return None, None, 0.0, 0.0, None, None, None, 0, None
    gone = response.sender_gone_ms
    return (
        response.status,
        response.fault,
        kept_ms(response.delay_ms),
        kept_ms(response.drip_ms),
        response.delivered,
        None if gone is None else kept_ms(gone),
        response.bytes_sent,
        len(response.body),
        header_get(response.headers, "retry-after"),
    )


def counter_of(response: ResponseGiven | None) -> str | None:
    """Which running counter (the TUI header, `/api/status`) an answer counts under:
    `not_delivered` when the sender hung up before it was complete, `faults` for a dropped
    connection, `2xx` or `errors` (4xx, 5xx) by status; None while it is held back, and for
    other statuses."""
    if response is None:
        return None
    if response.sender_gone_ms is not None:
        return "not_delivered"
    if response.fault in DROPS:
        return "faults"
    if response.delivered is None and response.held:
        return None
    if 200 <= response.status < 300:
        return "2xx"
    return "errors" if response.status >= 400 else None


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What became of sending a capture on to the developer's app (`serve --forward URL`)."""

    url: str
    """Where the request went: the forward URL with the captured path and query appended."""
    status: int | None = None
    """The app's status, or None when no answer came (see `error`)."""
    latency_ms: float = 0.0
    """Milliseconds from sending until the app's answer was read, or the forward failed."""
    error: str | None = None
    """Why no usable answer came, e.g. `connection refused` or `timeout after 30s`."""
    size: int | None = None
    """Bytes in the app's answer body; None when no answer came."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "error": self.error,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, data: object) -> Forwarded | None:
        """The result `to_dict` made (read back by `hookbin import`), or None for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return None
        status, latency, error, size = (data.get(key) for key in ("status", "latency_ms", "error", "size"))
        return cls(
            url=data["url"],
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            latency_ms=float(latency) if isinstance(latency, (int, float)) and not isinstance(latency, bool) else 0.0,
            error=error if isinstance(error, str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        )


@dataclass(frozen=True, slots=True)
class Capture:
    """One request as hookbin received it, and the answer it gave."""

    id: str
    """Short sortable id (12 characters, see `IdGenerator`)."""
    received_at: datetime
    """When the request line arrived, in UTC with microseconds."""
    method: str
    path: str
    """Path part of the request target, as sent (percent-escapes kept)."""
    query_string: str = ""
    """Raw query string after `?`, as sent."""
    headers: Headers = ()
    body: bytes = b""
    """Body bytes exactly as received (only the first bytes when `truncated`)."""
    body_size: int = 0
    """Size the sender declared or sent; larger than `len(body)` when truncated."""
    truncated: bool = False
    """True when the body was over the size limit and only its first bytes were kept."""
    remote: str = ""
    """The peer address, as `host:port` when known."""
    response: ResponseGiven | None = None
    delivery_key: str | None = None
    """Which delivery this request is an attempt of (see `deliveries`)."""
    delivery_source: str | None = None
    """Where the delivery key came from, e.g. `header:webhook-id` or `hash`."""
    attempt: int | None = None
    """1 for a delivery's first request, 2 for its first retry, and so on (counted within the run)."""
    signature: SignatureCheck | None = None
    """The `--verify` verdict on this request; None when hookbin checked no signature."""
    run: int | None = None
    """The run (experiment) the request arrived in: see `Run`; None for captures made before runs."""
    forward: Forwarded | None = None
    """What the app said when this request was forwarded (`serve --forward`); None if it was not."""

    @property
    def query(self) -> list[tuple[str, str]]:
        """Parsed query parameters in order, duplicates and blank values kept."""
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return header_get(self.headers, "content-type", "") or ""

    @property
    def outcome(self) -> str:
        """What the sender got: the status, `gone`, `close`/`reset`, or `---` when no answer is recorded."""
        return self.response.outcome if self.response else outcome_text(None, None)

    @property
    def url_path(self) -> str:
        """Path plus `?query` as the sender wrote it."""
        return url_path_of(self.path, self.query_string)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form used by `ls --json`, `show --json`, `serve --json` and the API."""
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(timespec="microseconds"),
            "method": self.method,
            "path": self.path,
            "query_string": self.query_string,
            "query": [list(pair) for pair in self.query],
            "headers": [list(pair) for pair in self.headers],
            **_body_pair(self.body),
            "body_size": self.body_size,
            "truncated": self.truncated,
            "remote": self.remote,
            "response": self.response.to_dict() if self.response else None,
            "delivery_key": self.delivery_key,
            "delivery_source": self.delivery_source,
            "attempt": self.attempt,
            "signature": self.signature.to_dict() if self.signature else None,
            "run": self.run,
            "forward": self.forward.to_dict() if self.forward else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Capture:
        """The inverse of `to_dict`; the derived `query` is ignored.

        Raises:
            KeyError: a required field (`id`, `received_at`, `method`, `path`) is missing.
            ValueError, TypeError: a field has the wrong form.
        """
        received_at = datetime.fromisoformat(data["received_at"])
        if received_at.tzinfo is None:
            raise ValueError(f"received_at {data['received_at']!r} has no time zone")
        body = body_from_json(data.get("body"), data.get("body_encoding"))
        response = data.get("response")
        capture_id = _text_field(data, "id")
        # Ids become file names (`ID.curl.sh`) and comment lines: only the characters hookbin uses.
        if not _ID_FORM.fullmatch(capture_id):
            raise ValueError(f"id {capture_id!r:.40} is not a hookbin id (letters and digits, at most 40)")
        return cls(
            id=capture_id,
            received_at=received_at.astimezone(UTC),
            method=_text_field(data, "method"),
            path=_text_field(data, "path"),
            query_string=str(data.get("query_string") or ""),
            headers=headers_from_json(data.get("headers") or ()),
            body=body,
            body_size=int(data.get("body_size", len(body))),
            truncated=bool(data.get("truncated", False)),
            remote=str(data.get("remote") or ""),
            response=ResponseGiven.from_dict(response) if response is not None else None,
            delivery_key=data.get("delivery_key"),
            delivery_source=data.get("delivery_source"),
            attempt=int(data["attempt"]) if data.get("attempt") is not None else None,
            signature=SignatureCheck.from_dict(data.get("signature")),
            run=int(data["run"]) if data.get("run") is not None else None,
            forward=Forwarded.from_dict(data.get("forward")),
        )


@dataclass(frozen=True, slots=True)
class Run:
    """One experiment: the requests answered from one setting of the answer.

    Setting the answer (at start, from the TUI or the control API) starts the next run, even
    when the answer is the same; attempt numbers and answer sequences start over in each.
    """

    number: int
    """Increasing per store, across restarts."""
    started_at: datetime
    """When the run started, in UTC."""
    spec: str | None = None
    """The default response spec in force, canonical text; None when not recorded."""
    rules: tuple[str, ...] = ()
    """The rules in force, as canonical text."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.number,
            "started_at": self.started_at.isoformat(timespec="microseconds"),
            "spec": self.spec,
            "rules": list(self.rules),
        }


def _text_field(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def headers_from_json(pairs: Any) -> Headers:
    """Header pairs from their JSON form, a list of `[name, value]`.

    Raises:
        ValueError: an item is not a pair of strings.
    """
    headers = []
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ValueError(f"a header must be a [name, value] pair of strings, not {pair!r:.60}")
        headers.append((pair[0], pair[1]))
    return tuple(headers)


def _body_pair(body: bytes) -> dict[str, str]:
    """Body as UTF-8 text when it decodes, else base64, with `body_encoding` saying which."""
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


def body_from_json(text: str | None, encoding: str | None) -> bytes:
    """The inverse of the `body`/`body_encoding` pair in the JSON forms."""
    if encoding not in (None, "utf-8", "base64"):
        raise ValueError(f"unknown body encoding {encoding!r:.40}: use utf-8 or base64")
    if not text:
        return b""
    if encoding == "base64":
        return base64.b64decode(text, validate=True)
    return text.encode("utf-8")


def body_json(body: bytes) -> dict[str, str]:
    """`body` and `body_encoding` as every JSON form writes them: UTF-8 text, else base64."""
    return _body_pair(body)
