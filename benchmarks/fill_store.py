"""Fill a store with generated captures, fast, through the store API: what `lists.py` measures.

Deliveries of ~1 KB Segmanta bodies from a few senders, spread over several runs, each answered
the way a retry experiment answers: accepted at once, 5xx then 2xx, 429 with Retry-After, 410,
dropped connections (`close`, `reset`), answers held back that the sender hung up on (a delay, a
drip), answers still held back, deliveries never accepted and ones tried again after a 2xx. Some
retries change the body, some bodies are not JSON or are broken JSON, some requests carry a
delivery id header and a signature verdict, and a few captures come from before runs and
delivery keys (as a HAR from another tool imports). The same seed gives the same captures.

    python benchmarks/fill_store.py --db /tmp/100k.db [--captures 100000] [--seed 1]

`traffic()` is also what tests/test_lists.py compares the list queries on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hookbin.deliveries import delivery_key
from hookbin.model import Capture, ResponseGiven, Run, stable_id
from hookbin.samples import sample_bytes
from hookbin.signatures.check import SignatureCheck
from hookbin.store import SQLiteStore, open_store

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_BLOCK = 500  # deliveries generated (and written) at a time
_RUNS = 5
_TEMPLATE = json.loads(sample_bytes("question"))


@dataclass(frozen=True)
class _Sender:
    user_agent: str | None
    gaps: tuple[float, ...]
    """Seconds it waits before each retry."""
    id_header: bool = False
    """Whether it names each delivery in a `webhook-id` header (and signs it)."""


_SENDERS = (
    _Sender("Segmanta-Webhooks/1.0", (1.0, 2.0, 4.0, 8.0)),
    _Sender("hookbin-send/0.1.0", (5.0, 30.0, 120.0, 120.0)),
    _Sender(None, (0.5, 0.5, 1.0, 1.0)),
    _Sender("Svix-Webhooks/1.17", (5.0, 300.0, 1800.0, 7200.0), id_header=True),
)

# Per answer: status, fault, delay (s), drip (s), delivered, sender gone after (s), Retry-After.
_A = tuple[int, str | None, float, float, bool | None, float | None, str | None]
_OK: _A = (200, None, 0, 0, True, None, None)
_ANSWERS: dict[str, _A] = {
    "200": _OK,
    "500": (500, None, 0, 0, True, None, None),
    "503": (503, None, 0, 0, True, None, None),
    "410": (410, None, 0, 0, True, None, None),
    "429": (429, None, 0, 0, True, None, "30"),
    "429-date": (429, None, 0, 0, True, None, "Sun, 01 Mar 2026 09:00:00 GMT"),
    "close": (200, "close", 0, 0, False, None, None),
    "reset": (200, "reset", 0, 0, False, None, None),
    "timeout": (200, None, 90, 0, False, 10.0, None),
    "drip-gone": (200, "drip", 0, 30, False, 5.0, None),
    "waited": (200, None, 2, 0, True, None, None),
    "held": (200, None, 600, 0, None, None, None),
    "old": (200, None, 0, 0, None, None, None),
}
_PATTERNS = (
    (30, ("200",)),
    (14, ("503", "503", "200")),
    (8, ("500", "200")),
    (6, ("429", "200")),
    (2, ("429-date", "200")),
    (4, ("410",)),
    (4, ("close", "reset", "200")),
    (5, ("timeout", "timeout", "200")),
    (3, ("drip-gone", "200")),
    (3, ("waited",)),
    (1, ("held",)),
    (4, ("503", "503", "503", "503")),
    (3, ("200", "200")),
    (2, ("old",)),
)


def _body(rng: random.Random, respondent: int, value: int) -> bytes:
    """About 1 KB: the sample question delivery for one respondent, answered `value`."""
    page = _TEMPLATE["results"][0]
    question = page["questions"][0]
    answer = {
        **question["answers"][0],
        "value": value,
        "comment": f"respondent {respondent} says: " + "support was quick and kind. " * rng.randint(12, 20),
    }
    document = {
        **_TEMPLATE,
        "custom_params": {
            "crm_id": f"CUST-{respondent}",
            "seg_erid": f"u-{respondent * 7919 % 100000}",
            "source": "post-purchase-email",
            "campaign": "spring-csat",
        },
        "results": [{**page, "questions": [{**question, "answers": [answer]}]}],
    }
    if rng.random() < 0.2:
        document["survey_name"] = None  # `ls` shows `survey id 1234`
    return json.dumps(document).encode()


def _request_body(rng: random.Random, respondent: int) -> tuple[bytes, str]:
    """A body and its Content-Type: mostly Segmanta JSON, some forms, some broken JSON."""
    roll = rng.random()
    if roll < 0.03:
        return f"crm_id=CUST-{respondent}&score={respondent % 10}".encode(), "application/x-www-form-urlencoded"
    if roll < 0.05:
        return b'{"survey_id": 1234, "results": [' + b"x" * rng.randint(10, 900), "application/json"
    return _body(rng, respondent, rng.randint(0, 10)), "application/json"


def _response(name: str) -> ResponseGiven:
    status, fault, delay, drip, delivered, gone, retry_after = _ANSWERS[name]
    body = b'{"ok": true}' if status < 400 else b'{"error": "as you asked"}'
    return ResponseGiven(
        status=status,
        headers=(("Retry-After", retry_after),) if retry_after else (),
        body=body,
        delay_ms=delay * 1000,
        fault=fault,
        drip_ms=drip * 1000,
        spec="503,503,200",
        step=1,
        duration_ms=0.4,
        delivered=delivered,
        sender_gone_ms=None if gone is None else gone * 1000,
        bytes_sent=len(body) // 2 if fault == "drip" else None,
    )


def _delivery(rng: random.Random, number: int, start: float, run: int | None) -> list[tuple[float, Capture]]:
    """One delivery's attempts, each with its arrival in seconds after START (ids come later)."""
    sender = rng.choice(_SENDERS)
    pattern = rng.choices([p for _, p in _PATTERNS], weights=[w for w, _ in _PATTERNS])[0]
    body, content_type = _request_body(rng, number)
    headers: list[tuple[str, str]] = [("Content-Type", content_type)]
    if sender.user_agent:
        headers.append(("User-Agent", sender.user_agent))
    if sender.id_header:
        headers.append(("webhook-id", f"msg_{number:08d}"))
    path = rng.choice(("/segmanta/csat", "/segmanta/nps", "/hooks/crm"))
    keyless = run is None
    attempts: list[tuple[float, Capture]] = []
    at = start
    key_of: tuple[bytes, tuple[str, str]] = (b"", ("", ""))
    for index, name in enumerate(pattern):
        response = _response(name)
        if index:
            at += sender.gaps[min(index - 1, len(sender.gaps) - 1)] * rng.uniform(0.9, 1.2)
            if name == "200" and pattern[index - 1].startswith("429") and rng.random() < 0.5:
                at += 30  # honours the Retry-After
            if rng.random() < 0.05:
                body = _body(rng, number, rng.randint(0, 10))  # the answer changed between attempts
        ended = response.delay_ms / 1000 if response.sender_gone_ms is None else response.sender_gone_ms / 1000
        if key_of[0] != body:
            key_of = (body, delivery_key("POST", path, tuple(headers), body))
        key, source = key_of[1]
        signature = None
        if sender.id_header:
            signature = SignatureCheck("standard", rng.random() < 0.9, "ok")
        capture = Capture(
            id="",
            received_at=START,
            method="POST",
            path=path,
            query_string=f"crm_id=CUST-{number}" if rng.random() < 0.3 else "",
            headers=tuple(headers),
            body=body,
            body_size=len(body),
            remote=f"127.0.0.1:{40000 + number % 20000}",
            response=None if keyless and rng.random() < 0.3 else response,
            delivery_key=None if keyless else key,
            delivery_source=None if keyless else source,
            attempt=None if keyless else index + 1,
            signature=signature,
            run=run,
        )
        attempts.append((at, capture))
        at += ended
    return attempts


def traffic(count: int, *, seed: int = 1) -> Iterator[list[Capture]]:
    """`count` captures in batches, oldest first, ids in arrival order; see the module docstring.

    Runs are numbered 1 to 5 (the first captures have none: they are from before runs).
    """
    rng = random.Random(seed)
    made = 0
    number = 0
    clock = 0.0
    last_ms = -1
    size = min(_BLOCK, max(20, count // 50))  # deliveries per block: small stores get runs too
    first: int | None = None  # captures made before runs were
    while made < count:
        if first is None and count > 100:
            run = None
        else:
            first = made if first is None else first
            run = 1 + min(_RUNS - 1, (made - first) * _RUNS // max(1, count - first))
        timed: list[tuple[float, Capture]] = []
        for _ in range(size):
            timed += _delivery(rng, number, clock + rng.uniform(0, size * 0.2), run)
            number += 1
        timed.sort(key=lambda pair: pair[0])
        batch = []
        for at, capture in timed[: count - made]:
            ms = max(int(at * 1000), last_ms + 1)  # one id per millisecond: they sort as they arrived
            last_ms = ms
            moment = START + timedelta(milliseconds=ms)
            base_ms = int(moment.timestamp() * 1000)
            batch.append(replace(capture, id=stable_id(base_ms, capture.body), received_at=moment))
        made += len(batch)
        clock = last_ms / 1000 + 60
        if first is None:
            first = made
        yield batch


def fill(store: SQLiteStore, count: int, *, seed: int = 1) -> int:
    """Write `count` generated captures into `store`, and their runs; returns how many were added."""
    added = 0
    starts: dict[int, datetime] = {}
    for batch in traffic(count, seed=seed):
        added += store.import_captures(batch)[0]
        for capture in batch:
            if capture.run is not None and capture.run not in starts:
                starts[capture.run] = capture.received_at
                store.record_run(Run(capture.run, capture.received_at, "503,503,200"))
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the database to fill (created; refused if it exists)")
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if Path(args.db).exists():
        sys.exit(f"fill_store: {args.db} exists; give a new path")
    began = time.perf_counter()
    with open_store(args.db) as store:
        added = fill(store, args.captures, seed=args.seed)
    seconds = time.perf_counter() - began
    size = os.path.getsize(args.db) / 2**20
    print(f"{added} captures in {seconds:.1f} s; {args.db} is {size:.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
