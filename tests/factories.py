"""Test factories: captures with deterministic ids and times (mitmproxy's `tflow` style), and
delivery attempts laid out on a schedule."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from hookbin.deliveries import delivery_key
from hookbin.model import Capture, Headers, ResponseGiven

BASE_TIME = datetime(2026, 3, 1, 14, 5, 9, 123456, tzinfo=UTC)
UA = "Segmanta-Webhooks/1.0"
_serial = count()


def tcapture(
    *,
    method: str = "POST",
    path: str = "/hook",
    query_string: str = "",
    headers: Headers = (("Content-Type", "application/json"),),
    body: bytes = b'{"survey_id": 1234}',
    status: int = 200,
    seq: int | None = None,
    **fields: object,
) -> Capture:
    """A capture numbered `seq` (ids and times grow with it), answered `status`."""
    number = next(_serial) if seq is None else seq
    fields.setdefault("response", ResponseGiven(status=status, body=b'{"ok": true}'))
    return Capture(
        id=f"t{number:011d}",
        received_at=BASE_TIME + timedelta(seconds=number),
        method=method,
        path=path,
        query_string=query_string,
        headers=headers,
        body=body,
        body_size=len(body),
        **fields,  # type: ignore[arg-type]
    )


def attempt(
    at: float,
    key: str,
    number: int,
    *,
    ua: str | None = UA,
    status: int = 503,
    response: ResponseGiven | None = None,
    path: str = "/segmanta/csat",
) -> Capture:
    """Attempt `number` of delivery `key`, received `at` seconds after BASE_TIME."""
    headers = (("Content-Type", "application/json"),) + ((("User-Agent", ua),) if ua else ())
    body = json.dumps({"survey_id": 1234, "custom_params": {"crm_id": key}}).encode()
    capture = tcapture(
        headers=headers, body=body, path=path, status=status, **({"response": response} if response else {})
    )
    found, source = delivery_key(capture.method, capture.path, capture.headers, capture.body)
    return replace(
        capture,
        received_at=BASE_TIME + timedelta(seconds=at),
        delivery_key=found,
        delivery_source=source,
        attempt=number,
    )


def schedule(starts: list[float], offsets: list[float], statuses: list[int], **kw: Any) -> list[Capture]:
    """One delivery per start time, its attempts at start + each offset, answered each status."""
    return [
        attempt(start + offset, f"CUST-{i}", n, status=status, **kw)
        for i, start in enumerate(starts)
        for n, (offset, status) in enumerate(zip(offsets, statuses, strict=True), 1)
    ]
