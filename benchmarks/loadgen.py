"""The load generator for `throughput.py`, run in a process of its own (never a server's).

Sends N JSON POSTs of a Segmanta-like survey payload (about 1.2 KB, a different respondent in
each body) to one URL at a fixed concurrency: one aiohttp `ClientSession` whose connector
holds at most C connections, and C worker tasks taking the next request number in turn.
Bodies are built before the clock starts, so only sending and answering are timed.

Prints one JSON object on stdout:
`{"sent", "ok", "failed", "statuses", "errors", "seconds", "cpu_seconds", "rps", "p50_ms",
"p99_ms"}`, `ok` counting the answers with status 200 and `cpu_seconds` the CPU this process
used while timed (near `seconds`: the client, not the server, set the pace).

    python benchmarks/loadgen.py URL [--requests 5000] [--concurrency 32] [--first-id 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

PATH = "/segmanta/csat"
HEADERS = {"Content-Type": "application/json", "User-Agent": "Segmanta-Webhooks/1.0 (benchmark)"}
MAX_ERRORS_KEPT = 5


def survey_payload(respondent: int) -> bytes:
    """One completed-survey webhook as Segmanta sends it, for respondent number `respondent`."""
    document = {
        "custom_params": {
            "crm_id": f"CUST-{100000 + respondent}",
            "respondent_id": f"r-{respondent:08d}",
            "email_hash": f"{(respondent * 2654435761) % 2**64:016x}",
            "source": "post-purchase-email",
            "store": "berlin-mitte",
            "locale": "en-GB",
            "campaign": "spring-2024-csat",
            "device": "mobile" if respondent % 3 else "desktop",
        },
        "results": [
            {
                "question_id": 90211,
                "question_type": "single_choice",
                "question_text": "How satisfied are you with your most recent purchase?",
                "answer_ids": [4 + respondent % 2],
                "answers": ["Very satisfied" if respondent % 2 else "Satisfied"],
            },
            {
                "question_id": 90212,
                "question_type": "rating",
                "question_text": "How likely are you to recommend us to a friend or colleague?",
                "answer_ids": [respondent % 11],
                "answers": [str(respondent % 11)],
            },
            {
                "question_id": 90213,
                "question_type": "multiple_choice",
                "question_text": "Which of these did you use during your visit?",
                "answer_ids": [1, 3, 6],
                "answers": ["Online chat", "Click and collect", "Loyalty card"],
            },
            {
                "question_id": 90214,
                "question_type": "open_text",
                "question_text": "Is there anything we could have done better?",
                "answer_ids": [],
                "answers": [
                    f"Respondent {respondent}: delivery was a day late, but the staff at the "
                    "counter sorted it out quickly and kindly."
                ],
            },
        ],
        "survey_id": 1234,
        "survey_name": "Customer Satisfaction Survey",
        "completed_at": f"2024-05-{1 + respondent % 28:02d}T14:{respondent % 60:02d}:09Z",
    }
    return json.dumps(document).encode("utf-8")


@dataclass
class Tally:
    """What came back, filled in by the workers."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


async def _worker(
    session: aiohttp.ClientSession, url: str, bodies: list[bytes], next_index: list[int], tally: Tally
) -> None:
    while next_index[0] < len(bodies):
        body = bodies[next_index[0]]
        next_index[0] += 1
        tally.sent += 1
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                tally.statuses[response.status] += 1
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            tally.errors[f"{type(exc).__name__}: {exc}"] += 1
            continue
        tally.latencies.append(time.perf_counter() - started)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def run(url: str, requests: int, concurrency: int, first_id: int = 0) -> dict[str, object]:
    """Send `requests` POSTs to `url`, `concurrency` at a time; the summary described above."""
    bodies = [survey_payload(first_id + index) for index in range(requests)]
    tally = Tally()
    next_index = [0]  # shared by the workers; they run on one event loop, so no lock
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(_worker(session, url, bodies, next_index, tally) for _ in range(concurrency)))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    latencies = sorted(tally.latencies)
    ok = tally.statuses.get(200, 0)
    return {
        "sent": tally.sent,
        "ok": ok,
        "failed": tally.sent - ok,
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "errors": [f"{count} x {text}" for text, count in tally.errors.most_common(MAX_ERRORS_KEPT)],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rps": tally.sent / seconds if seconds > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="base URL of the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--first-id", type=int, default=0, help="respondent number of the first body")
    args = parser.parse_args()
    url = args.url.rstrip("/") + PATH
    summary = asyncio.run(run(url, args.requests, args.concurrency, args.first_id))
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
