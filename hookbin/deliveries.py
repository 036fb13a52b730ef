"""Which requests are attempts of one delivery: the delivery key and attempt numbering (pure).

A sender that retries sends the same delivery again. The key is the first of: a user-chosen
header or JSON field (`--delivery-key`), a known id header (`webhook-id`, `X-GitHub-Delivery`,
...), a known id field at the top of a JSON body (`event_id`, `messageId`, `id`), else a hash
of method + path + body (Segmanta sends no id, and its retries repeat the same body).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable

from hookbin.model import Headers, header_get

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
        raise KeySpecError(
            f"bad delivery key {text!r}: use header:NAME or json:PATH, e.g. json:data.id"
        )
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


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)) and str(value):
        return str(value)[:_MAX_KEY]
    return None


def _parse_json(body: bytes) -> Any:
    stripped = body.lstrip()
    if not stripped.startswith(b"{") and not stripped.startswith(b"["):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def delivery_key(
    method: str, path: str, headers: Headers, body: bytes, spec: KeySpec | None = None
) -> tuple[str, str]:
    """The delivery key of one request and where it came from.

    Returns:
        `(key, source)`, source being e.g. `header:webhook-id`, `json:event_id` or `hash`.
    """
    document: Any = None
    parsed = False
    if spec is not None:
        if spec.kind == "header":
            value = header_get(headers, spec.name)
            if value:
                return value[:_MAX_KEY], str(spec)
        else:
            document, parsed = _parse_json(body), True
            value = _scalar(_json_at(document, spec.name))
            if value is not None:
                return value, str(spec)
    for name in ID_HEADERS:
        value = header_get(headers, name)
        if value:
            return value[:_MAX_KEY], f"header:{name}"
    if not parsed:
        document = _parse_json(body)
    if isinstance(document, dict):
        for name in ID_FIELDS:
            value = _scalar(document.get(name))
            if value is not None:
                return value, f"json:{name}"
    digest = hashlib.sha256()
    for part in (method.encode("utf-8", "surrogateescape"), path.encode("utf-8", "surrogateescape")):
        digest.update(part + b"\0")
    digest.update(body)
    return "sha256:" + digest.hexdigest()[:16], "hash"


class AttemptCounter:
    """Numbers the attempts of each delivery: 1 for the first request with a key, 2 for the next.

    Bounded: past `max_keys` deliveries the least recently seen are forgotten (a very late
    retry of a forgotten delivery then counts as attempt 1).
    """

    def __init__(self, seed: Iterable[tuple[str, int]] = (), max_keys: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._max = max_keys
        self._attempts: OrderedDict[str, int] = OrderedDict()
        for key, attempt in seed:
            self._attempts[key] = max(attempt, self._attempts.get(key, 0))
            self._attempts.move_to_end(key)
        self._trim()

    def _trim(self) -> None:
        while len(self._attempts) > self._max:
            self._attempts.popitem(last=False)

    def next(self, key: str) -> int:
        """Count one more request of delivery `key` and return its attempt number."""
        with self._lock:
            attempt = self._attempts.pop(key, 0) + 1
            self._attempts[key] = attempt
            self._trim()
            return attempt

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()
