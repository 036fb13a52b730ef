"""Test factories: captures with deterministic ids and times (mitmproxy's `tflow` style)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from hookbin.model import Capture, Headers, ResponseGiven

BASE_TIME = datetime(2026, 3, 1, 14, 5, 9, 123456, tzinfo=timezone.utc)
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
