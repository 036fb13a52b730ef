"""examples/crm_receiver driven the way its README does: the real app, fed by hookbin's own sender.

Each test starts `python examples/crm_receiver/app.py --port 0` on a fresh CRM database, delivers
Segmanta payloads with `hookbin send`, `hookbin replay` and `hookbin serve --forward`, and checks
the CRM records a user would look at: `GET /customers/{id}` and `GET /review`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.commands.conftest import HOOKBIN

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "crm_receiver" / "app.py"
PAYLOADS = ROOT / "examples" / "crm_receiver" / "payloads"
SURVEY = ROOT / "examples" / "segmanta" / "survey.json"


class Receiver:
    """The example receiver as a process, with the CRM calls a user would make with curl."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.db = tmp_path / "crm.db"
        self.log = tmp_path / "receiver.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(APP), "--port", "0", "--crm-db", str(self.db), *args],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 30  # fail rather than hang if it never starts
        while not (match := re.search(r"listening on (http://\S+)", self.log.read_text())):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        self.url = match.group(1)

    def call(self, method: str, path: str, data: Any = None) -> tuple[int, Any]:
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def add_customer(self, customer_id: str, name: str = "Ada Lovelace", external_id: str | None = None) -> None:
        status, body = self.call("POST", "/customers", {"id": customer_id, "name": name, "external_id": external_id})
        assert status == 201, body

    def responses(self, customer_id: str) -> dict[Any, dict[str, Any]]:
        status, customer = self.call("GET", f"/customers/{customer_id}")
        assert status == 200, customer
        return {r["answer_id"]: r for r in customer["responses"]}

    def review(self, status: str = "open") -> list[dict[str, Any]]:
        code, rows = self.call("GET", f"/review?status={status}")
        assert code == 200, rows
        return rows

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        return self.log.read_text()


@pytest.fixture
def receiver(tmp_path):
    started: list[Receiver] = []

    def start(*args: str) -> Receiver:
        started.append(Receiver(tmp_path, *args))
        return started[-1]

    yield start
    for one in started:
        log = one.stop()
        assert one.proc.returncode == 0, log
        assert "Traceback" not in log, log


@pytest.fixture
def deliver(hookbin):
    """`hookbin send --json` each payload in turn to URL/segmanta; the attempt objects, the summary last."""

    def send(url: str, *payloads: Path, count: int | None = None, retry: str = "") -> list[dict[str, Any]]:
        args = [arg for path in payloads for arg in ("--payload", str(path))]
        result = hookbin(
            "send",
            "--to",
            url + "/segmanta",
            *args,
            "--count",
            str(count or len(payloads)),
            "--retry",
            retry,
            "--json",
            timeout=60,
        )
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert lines and lines[-1]["type"] == "summary", result.stderr
        return lines

    return send


def statuses(lines: list[dict[str, Any]]) -> list[int | None]:
    return [line["status"] for line in lines if line["type"] == "attempt"]


def readable(responses: dict[Any, dict[str, Any]]) -> list[tuple]:
    return [(r["answer_id"], r["page_label"], r["kind"], r["answer"], r["comment"]) for r in responses.values()]


def question_deliveries(survey: dict[str, Any], tmp_path: Path) -> list[Path]:
    """The On question completion deliveries a respondent's survey arrives as: one per question."""
    files = []
    for page in survey["results"]:
        for question in page["questions"]:
            delivery = {**survey, "results": [{**page, "questions": [copy.deepcopy(question)]}]}
            if question["id"] == 7002:  # the comment "fast" is typed after the choice is sent
                delivery["results"][0]["questions"][0]["answers"][0]["comment"] = ""
            files.append(tmp_path / f"question-{question['id']}.json")
            files[-1].write_text(json.dumps(delivery, indent=2))
    return files


@pytest.fixture
def customer_1042(receiver):
    crm = receiver()
    crm.add_customer("CUST-1042", "Ada Lovelace", "u-88")
    return crm


# ------------------------------------------------------------------------------ question types


def test_every_question_type_is_attached_in_readable_form(receiver, deliver):
    crm = receiver()
    crm.add_customer("CUST-1042", "Ada Lovelace", "u-88")
    crm.add_customer("CUST-0077", "Grace Hopper", "u-77")  # found by seg_erid: no crm_id in the link
    lines = deliver(crm.url, SURVEY, PAYLOADS / "survey-other-shapes.json")
    assert statuses(lines) == [200, 200]

    ada = crm.responses("CUST-1042")
    assert readable(ada) == [
        (90001, "rating", "value", "4", ""),
        (90002, "image choice", "choice", "Live chat", "fast"),
        (90003, "NPS", "value", "9", ""),
        (90004, "opinion scale", "value", "5", ""),
        (90005, "slider", "value", "12", ""),
        (90006, "multi rating", "subject value", "Response time: 3", ""),
        (90007, "multi rating", "subject value", "Friendliness: 5", ""),
        (90008, "multi rating", "subject value", "Solution quality: 4", ""),
        (90009, "rating", "value", "4", "The setup wizard was confusing at first."),
        (90010, "rating", "value", "5", ""),
    ]
    channel = ada[90002]
    assert (channel["item"], channel["variant_id"], channel["variant_name"]) == ("Live chat", 51526, "Variant Two")
    assert (channel["survey_id"], channel["page_id"], channel["question_id"]) == (1234, 5013, 7002)
    assert channel["question"] == "Which channel did you use?"
    assert (ada[90007]["subject"], ada[90007]["value"]) == ("Friendliness", 5)
    assert ada[90010]["question"] == "How well does it meet your needs?"  # a page with two questions

    grace = crm.responses("CUST-0077")
    assert readable(grace) == [
        (91001, "multiple choice", "choice", "Billing", ""),
        (91002, "multiple choice", "choice", "Password reset", "twice"),
        (91003, "NPS", "value", "6", ""),
        (91004, "OpenTextQuestionPage", "unknown", None, ""),
    ]
    sent = json.loads((PAYLOADS / "survey-other-shapes.json").read_text())
    assert grace[91004]["raw"] == sent["results"][2]["questions"][0]["answers"][0]  # kept verbatim
    assert crm.review() == []


# ------------------------------------------------------------------- duplicates and versions


def test_question_then_survey_completion_attaches_each_answer_once(customer_1042, tmp_path, deliver):
    crm = customer_1042
    survey = json.loads(SURVEY.read_text())
    questions = question_deliveries(survey, tmp_path)
    assert statuses(deliver(crm.url, *questions)) == [200] * 8
    assert crm.responses("CUST-1042")[90002]["comment"] == ""

    assert statuses(deliver(crm.url, SURVEY)) == [200]
    responses = crm.responses("CUST-1042")
    assert len(responses) == 10
    assert all(r["deliveries"] == 2 for r in responses.values())
    assert responses[90002]["comment"] == "fast"  # the survey completion's later version wins
    assert {k: r["changes"] for k, r in responses.items() if r["changes"]} == {90002: 1}

    # A late retry of the question completion is older than what is attached: it changes nothing.
    assert statuses(deliver(crm.url, PAYLOADS / "question-channel.json")) == [200]
    channel = crm.responses("CUST-1042")[90002]
    assert (channel["comment"], channel["deliveries"], channel["changes"]) == ("fast", 3, 1)


def test_a_later_updated_time_replaces_and_an_earlier_one_does_not(customer_1042, tmp_path, deliver):
    crm = customer_1042
    changed = json.loads(SURVEY.read_text())
    answer = changed["results"][0]["questions"][0]["answers"][0]
    answer.update(value=2, comment="Second thoughts.", updated="2026-03-01T15:00:00.000000+00:00")
    later = tmp_path / "later.json"
    later.write_text(json.dumps(changed))

    assert statuses(deliver(crm.url, SURVEY, later, SURVEY)) == [200, 200, 200]
    csat = crm.responses("CUST-1042")[90001]
    assert (csat["answer"], csat["comment"], csat["updated"]) == ("2", "Second thoughts.", answer["updated"])
    assert (csat["deliveries"], csat["changes"]) == (3, 1)


def test_retried_deliveries_attach_nothing_twice(customer_1042, deliver):
    crm = customer_1042
    assert statuses(deliver(crm.url, SURVEY, count=3)) == [200, 200, 200]
    responses = crm.responses("CUST-1042")
    assert len(responses) == 10
    assert {(r["deliveries"], r["changes"]) for r in responses.values()} == {(3, 0)}


# -------------------------------------------------------------------- temporary trouble: 503


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another process's write transaction on the CRM database, as a batch job would hold it."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def send_through_a_lock(db: Path, url: str, while_locked: Callable[[dict[str, Any]], None] | None = None) -> list[Any]:
    """`hookbin send --retry` the survey to `url` while another writer holds the CRM's lock, released
    once the first attempt is answered (and `while_locked(first attempt)` has run); the lines it printed."""
    holder = hold_write_lock(db)
    sender = subprocess.Popen(
        [*HOOKBIN, "send", "--to", url + "/segmanta", "--payload", str(SURVEY), "--retry", "1s,1s,1s,1s,1s", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = json.loads(sender.stdout.readline())
        if while_locked:
            while_locked(first)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    out, err = sender.communicate(timeout=60)
    assert sender.returncode == 0, err
    return [first, *map(json.loads, out.splitlines())]


def test_a_locked_crm_answers_503_and_the_retry_attaches_once(receiver):
    crm = receiver("--busy-timeout", "0.1")
    crm.add_customer("CUST-1042", "Ada Lovelace", "u-88")

    def first_attempt_wrote_nothing(first: dict[str, Any]) -> None:
        assert (first["attempt"], first["status"], first["accepted"]) == (1, 503, False)
        assert crm.responses("CUST-1042") == {}  # reads go on meanwhile; nothing was written

    lines = send_through_a_lock(crm.db, crm.url, first_attempt_wrote_nothing)
    assert statuses(lines)[-1] == 200 and set(statuses(lines)[:-1]) == {503}
    responses = crm.responses("CUST-1042")
    assert len(responses) == 10 and {r["deliveries"] for r in responses.values()} == {1}
    assert "503 CRM database" in crm.stop() and "database is locked" in crm.log.read_text()


def test_a_missing_crm_database_answers_503_not_2xx(customer_1042, deliver):
    crm = customer_1042
    moved = crm.db.with_name("elsewhere.db")
    crm.db.rename(moved)
    assert statuses(deliver(crm.url, SURVEY)) == [503]
    crm.db.unlink()
    moved.rename(crm.db)
    assert statuses(deliver(crm.url, SURVEY)) == [200]
    assert len(crm.responses("CUST-1042")) == 10


# --------------------------------------------------------------------- never usable: review


def test_an_unknown_customer_is_parked_then_attached_once_added(receiver, deliver):
    crm = receiver()
    unknown = PAYLOADS / "unknown-customer.json"
    lines = deliver(crm.url, unknown)
    assert statuses(lines) == [202] and lines[-1]["ok"]  # acknowledged: no retry could help
    [parked] = crm.review()
    assert parked["reason"] == 'unknown customer: crm_id "CUST-2001" matches no customer'
    assert parked["body"] == unknown.read_text() and parked["status"] == "open"

    assert crm.call("POST", f"/review/{parked['id']}/retry")[0] == 422  # still nobody to attach it to
    crm.add_customer("CUST-2001", "Alan Turing")
    status, outcome = crm.call("POST", f"/review/{parked['id']}/retry")
    assert (status, outcome["status"], outcome["attached"]) == (200, "attached", 1)
    assert readable(crm.responses("CUST-2001")) == [(92001, "rating", "value", "5", "Quick and friendly.")]
    assert crm.review() == []
    [done] = crm.review("done")
    assert (done["id"], done["retries"]) == (parked["id"], 2)
    assert crm.call("POST", "/review/999/retry")[0] == 404


def test_payloads_that_can_never_be_used_are_acknowledged_and_kept(customer_1042, tmp_path, deliver):
    crm = customer_1042
    survey = json.loads(SURVEY.read_text())
    no_customer = {**survey, "custom_params": {"utm_source": "mail"}}
    hostile = {**survey, "custom_params": {"crm_id": "\x1b]52;c;aGk=\x07\u202eevil"}}
    partial = copy.deepcopy(survey)
    del partial["results"][0]["questions"][0]["answers"][0]["id"]
    partial["results"][1]["questions"] = "not a list"
    bodies = {
        "not-json.txt": b"customer=CUST-1042&score=4",
        "binary.bin": b"\xff\xfe\x00\x01",
        "array.json": b"[1, 2]",
        "no-customer.json": json.dumps(no_customer).encode(),
        "hostile.json": json.dumps(hostile).encode(),
        "partial.json": json.dumps(partial).encode(),
    }
    for name, body in bodies.items():
        (tmp_path / name).write_bytes(body)

    lines = deliver(crm.url, *(tmp_path / name for name in bodies))
    assert statuses(lines) == [202, 202, 202, 202, 202, 200] and lines[-1]["ok"]
    parked = {row["reason"].split(":")[0]: row for row in reversed(crm.review())}
    assert list(parked) == [
        "body is not JSON",
        "body is not UTF-8 text",
        "body is JSON but not an object (a list)",
        "no customer id",
        "unknown customer",
        "results[0].questions[0].answers[0] has no id, so it cannot be "
        "attached exactly once; results[1] has no questions list",
    ]
    assert parked["body is not UTF-8 text"]["body_encoding"] == "base64"
    assert parked["no customer id"]["body"] == bodies["no-customer.json"].decode()
    assert 'crm_id "\\u001b]52;c;aGk=\\u0007\\u202eevil"' in parked["unknown customer"]["reason"]
    # The partial delivery attached what it could: 10 answers less the two it could not read.
    assert sorted(crm.responses("CUST-1042")) == [90003, 90004, 90005, 90006, 90007, 90008, 90009, 90010]
    log = crm.stop()
    assert "\x1b" not in log and "\u202e" not in log and "\\u001b]52" in log


def test_a_body_over_the_limit_is_parked_not_refused(customer_1042, tmp_path, deliver):
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (10 * 1024 * 1024) + SURVEY.read_bytes())  # aiohttp alone would answer 413
    assert statuses(deliver(customer_1042.url, huge)) == [202]
    [parked] = customer_1042.review()
    assert parked["reason"] == "body over 10485760 bytes; the first 10485760 kept"
    assert len(parked["body"]) == 10 * 1024 * 1024


# ------------------------------------------------------------------------------ the CRM's API


def test_customers_api_refuses_bad_input_with_one_reason(receiver):
    crm = receiver()
    crm.add_customer("CUST-1", "One", "ext-1")
    assert crm.call("POST", "/customers", {"id": "CUST-1", "name": "Again"}) == (
        409,
        {"error": 'customer "CUST-1" exists'},
    )
    assert crm.call("POST", "/customers", {"id": "CUST-2", "name": "Two", "external_id": "ext-1"})[0] == 409
    assert crm.call("POST", "/customers", {"name": "No id"})[0] == 400
    assert crm.call("POST", "/customers", [1])[0] == 400
    assert crm.call("GET", "/customers/CUST-404") == (404, {"error": "no customer 'CUST-404'"})
    assert crm.call("GET", "/review?status=maybe")[0] == 400
    status, customer = crm.call("GET", "/customers/CUST-1")
    assert (status, customer["external_id"], customer["responses"]) == (200, "ext-1", [])


def test_start_up_errors_are_one_line(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        taken = subprocess.run(
            [sys.executable, str(APP), "--port", str(port), "--crm-db", str(tmp_path / "a.db")],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert taken.returncode == 1
    assert taken.stderr.strip() == f"crm_receiver: error: cannot listen on 127.0.0.1:{port}: address already in use"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    no_dir = subprocess.run(
        [sys.executable, str(APP), "--port", "0", "--crm-db", str(blocker / "crm.db")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert no_dir.returncode == 1
    assert (
        no_dir.stderr.strip() == f"crm_receiver: error: cannot open CRM database {blocker / 'crm.db'}: "
        "unable to open database file"
    )


# ---------------------------------------------------------- replay and forward (issue 10)


def captured_ids(hookbin: Callable[..., Any], db: Path) -> list[str]:
    result = hookbin("ls", "--json", env={"HOOKBIN_DB": str(db)})
    return [json.loads(line)["id"] for line in result.stdout.splitlines()][::-1]


def test_replaying_captured_deliveries_into_the_receiver(receiver, tmp_path, hookbin, serve, deliver):
    crm = receiver("--busy-timeout", "0.1")
    crm.add_customer("CUST-1042", "Ada Lovelace", "u-88")
    hookbin_db = tmp_path / "captures.db"
    served = serve("--no-tui", "--db", str(hookbin_db))
    try:
        deliver(served.url, *question_deliveries(json.loads(SURVEY.read_text()), tmp_path), SURVEY)
    finally:
        assert served.stop()[0] == 0
    ids = captured_ids(hookbin, hookbin_db)
    assert len(ids) == 9

    holder = hold_write_lock(crm.db)
    locked = hookbin("replay", ids[-1], "--to", crm.url, env={"HOOKBIN_DB": str(hookbin_db)})
    holder.execute("ROLLBACK")
    holder.close()
    assert "503" in locked.stdout + locked.stderr, locked.stdout + locked.stderr  # the receiver's answer, shown
    assert crm.responses("CUST-1042") == {}

    for capture_id in [*ids, ids[-1]]:  # in order, then the survey completion once more
        replayed = hookbin("replay", capture_id, "--to", crm.url, env={"HOOKBIN_DB": str(hookbin_db)})
        assert replayed.returncode == 0 and "200" in replayed.stdout + replayed.stderr, (
            replayed.stdout + replayed.stderr
        )
    responses = crm.responses("CUST-1042")
    assert len(responses) == 10 and responses[90002]["comment"] == "fast"
    assert {r["deliveries"] for r in responses.values()} == {3}


def test_hookbin_forwarding_in_front_of_the_receiver_passes_its_503_to_the_sender(receiver, tmp_path, hookbin, serve):
    crm = receiver("--busy-timeout", "0.1")
    crm.add_customer("CUST-1042", "Ada Lovelace", "u-88")
    hookbin_db = tmp_path / "captures.db"
    served = serve("--no-tui", "--db", str(hookbin_db), "--forward", crm.url)
    try:
        lines = send_through_a_lock(crm.db, served.url)
    finally:
        assert served.stop()[0] == 0
    # The receiver's real answer reached the sender, so it retried until the CRM was free.
    assert statuses(lines)[0] == 503 and statuses(lines)[-1] == 200
    # Every attempt is kept by hookbin, with what the receiver answered it.
    listed = hookbin("ls", "--json", env={"HOOKBIN_DB": str(hookbin_db)}).stdout
    forwards = [json.loads(line)["forward"] for line in listed.splitlines()][::-1]
    assert [f["status"] for f in forwards] == statuses(lines) and forwards[0]["url"] == crm.url + "/segmanta"
    responses = crm.responses("CUST-1042")
    assert len(responses) == 10 and {r["deliveries"] for r in responses.values()} == {1}
