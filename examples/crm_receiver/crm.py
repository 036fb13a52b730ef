"""The tiny CRM: customers, the survey answers attached to them, and a review table, in SQLite.

Every write is one transaction that takes the write lock first (`BEGIN IMMEDIATE`) and waits
at most `busy_timeout` seconds for it. Any SQLite error (locked, missing, unwritable, full)
raises `CRMUnavailable` after the transaction is rolled back: the receiver answers 503 and
nothing was written, so the sender's retry starts from a clean slate. A method that returns
has committed.

Answers are keyed by their Segmanta answer id. The same answer again (a retry, or a survey
completion repeating what question completion already sent) is counted, not attached twice;
a later version replaces the attached one; an older version (a late retry) is counted and
left as it is. Later means a later `updated` time; for the same `updated`, the survey
completion's version (the respondent's final answers: a comment added on a later page, say)
is later than question completion's, and otherwise the last to arrive wins.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from answers import Delivery, Unusable, canonical, read_delivery

__all__ = ["CRM", "CRMUnavailable", "Conflict", "Outcome"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    external_id TEXT UNIQUE,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    answer_key     TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers(id),
    record         TEXT NOT NULL,
    updated        TEXT,
    event          TEXT,
    first_received TEXT NOT NULL,
    last_received  TEXT NOT NULL,
    deliveries     INTEGER NOT NULL,
    changes        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_by_customer ON responses(customer_id);
CREATE TABLE IF NOT EXISTS review (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    body         BLOB NOT NULL,
    content_type TEXT,
    status       TEXT NOT NULL DEFAULT 'open',
    retries      INTEGER NOT NULL DEFAULT 0,
    resolved_at  TEXT
);
"""
# `record` is the answer as `GET /customers/{id}` shows it (JSON, the raw answer included);
# `updated` (the answer's own time) and `event` (the hook event guessed for the delivery that
# brought it) tell a later version from an older one.
# A review row is `open` until a retry attaches it, then `done`.


class CRMUnavailable(Exception):
    """The CRM database cannot be used right now; the message says why, in one line."""


class Conflict(ValueError):
    """A customer that clashes with an existing one (same id or external id)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery did to the CRM."""

    status: str
    """`attached` (the customer was found; see the counts) or `parked` (nothing attached)."""
    event: str | None = None
    customer: str | None = None
    attached: int = 0
    """Answers attached for the first time."""
    updated: int = 0
    """Answers that replaced an earlier version of themselves."""
    unchanged: int = 0
    """Answers already attached exactly as sent: a retry, or survey completion repeating them."""
    stale: int = 0
    """Answers older than the version attached: counted, not applied."""
    review_id: int | None = None
    """The review row holding this delivery, when all or part of it could not be attached."""
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


EVENT_RANK = {"question completion": 0, "survey completion": 1}


def _older(incoming: tuple[str | None, str | None], attached: tuple[str | None, str | None]) -> bool:
    """Whether the incoming (updated, event) version is older than the attached one."""
    try:
        new, old = datetime.fromisoformat(incoming[0] or ""), datetime.fromisoformat(attached[0] or "")
        if new != old:
            return new < old
    except (ValueError, TypeError):  # unreadable, or only one of them has a time zone
        if incoming[0] != attached[0]:
            return False  # no order to go by: the last to arrive wins
    return EVENT_RANK.get(incoming[1] or "", 0) < EVENT_RANK.get(attached[1] or "", 0)


def _body_fields(body: bytes) -> dict[str, Any]:
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


class CRM:
    """The CRM database at `path`; each call opens its own connection (calls may come from any thread)."""

    def __init__(self, path: str, busy_timeout: float = 1.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout

    # ---------------------------------------------------------------------------- plumbing

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        db = None
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise CRMUnavailable(f"CRM database {self.path}: {exc}") from None
        finally:
            if db is not None:
                if db.in_transaction:
                    try:
                        db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # closing the connection rolls back too
                db.close()

    def create(self) -> None:
        """Create the tables when missing; WAL lets reads go on while a delivery is written."""
        try:
            db = self._connect()
        except sqlite3.Error as exc:
            raise CRMUnavailable(f"cannot open CRM database {self.path}: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise CRMUnavailable(f"cannot use CRM database {self.path}: {exc}") from None
        finally:
            db.close()

    # --------------------------------------------------------------------------- customers

    def add_customer(self, customer_id: str, name: str, external_id: str | None) -> dict[str, Any]:
        """Add a customer; `Conflict` when its id or external id is taken."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone():
                raise Conflict(f"customer {json.dumps(customer_id)} exists")
            if (
                external_id is not None
                and db.execute("SELECT 1 FROM customers WHERE external_id = ?", (external_id,)).fetchone()
            ):
                raise Conflict(f"external_id {json.dumps(external_id)} belongs to another customer")
            created = _now()
            db.execute(
                "INSERT INTO customers (id, name, external_id, created_at) VALUES (?, ?, ?, ?)",
                (customer_id, name, external_id, created),
            )
        return {"id": customer_id, "name": name, "external_id": external_id, "created_at": created}

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """The customer with every attached answer, in the order they first arrived; None if unknown."""
        with self._transaction(write=False) as db:
            row = db.execute(
                "SELECT id, name, external_id, created_at FROM customers WHERE id = ?", (customer_id,)
            ).fetchone()
            if row is None:
                return None
            responses = db.execute(
                "SELECT record, first_received, last_received, deliveries, changes FROM responses "
                "WHERE customer_id = ? ORDER BY rowid",
                (customer_id,),
            ).fetchall()
        return {
            "id": row[0],
            "name": row[1],
            "external_id": row[2],
            "created_at": row[3],
            "responses": [
                {
                    **json.loads(record),
                    "first_received": first,
                    "last_received": last,
                    "deliveries": deliveries,
                    "changes": changes,
                }
                for record, first, last, deliveries, changes in responses
            ],
        }

    # -------------------------------------------------------------------------- deliveries

    def receive(self, body: bytes, content_type: str | None) -> Outcome:
        """Attach a delivery's answers, or park it for review; committed when this returns."""
        try:
            delivery: Delivery | None = read_delivery(body)
            reason = None
        except Unusable as exc:
            delivery, reason = None, str(exc)
        with self._transaction() as db:
            if delivery is None:
                review_id = self._park(db, body, content_type, reason or "")
                return Outcome("parked", review_id=review_id, reason=reason)
            return self._apply(db, delivery, lambda why: self._park(db, body, content_type, why))

    def park(self, body: bytes, content_type: str | None, reason: str) -> Outcome:
        """Keep a delivery for review without reading it (too large, or the receiver failed on it)."""
        with self._transaction() as db:
            return Outcome("parked", review_id=self._park(db, body, content_type, reason), reason=reason)

    def retry(self, review_id: int) -> Outcome | None:
        """Process a parked delivery again (say, once its customer exists); None if no such row."""
        with self._transaction() as db:
            row = db.execute("SELECT body FROM review WHERE id = ?", (review_id,)).fetchone()
            if row is None:
                return None

            def still_parked(why: str) -> int:
                db.execute(
                    "UPDATE review SET reason = ?, status = 'open', retries = retries + 1 WHERE id = ?",
                    (why, review_id),
                )
                return review_id

            try:
                delivery = read_delivery(row[0])
            except Unusable as exc:
                still_parked(str(exc))
                return Outcome("parked", review_id=review_id, reason=str(exc))
            outcome = self._apply(db, delivery, still_parked)
            if outcome.review_id is None:
                db.execute(
                    "UPDATE review SET status = 'done', retries = retries + 1, resolved_at = ? WHERE id = ?",
                    (_now(), review_id),
                )
        return outcome

    def review(self, status: str | None = "open", limit: int = 100) -> list[dict[str, Any]]:
        """Parked deliveries, newest first: `open` ones, `done` ones, or all (status None)."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        with self._transaction(write=False) as db:
            rows = db.execute(
                "SELECT id, received_at, reason, status, retries, resolved_at, content_type, body "
                f"FROM review {where} ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [
            {
                "id": r[0],
                "received_at": r[1],
                "reason": r[2],
                "status": r[3],
                "retries": r[4],
                "resolved_at": r[5],
                "content_type": r[6],
                **_body_fields(r[7]),
            }
            for r in rows
        ]

    # ---------------------------------------------------------------------------- internals

    @staticmethod
    def _park(db: sqlite3.Connection, body: bytes, content_type: str | None, reason: str) -> int:
        cursor = db.execute(
            "INSERT INTO review (received_at, reason, body, content_type) VALUES (?, ?, ?, ?)",
            (_now(), reason, body, content_type),
        )
        return int(cursor.lastrowid or 0)

    @staticmethod
    def _customer_of(db: sqlite3.Connection, delivery: Delivery) -> str | None:
        ref = delivery.customer
        if ref.crm_id is not None:
            row = db.execute("SELECT id FROM customers WHERE id = ?", (ref.crm_id,)).fetchone()
            if row:
                return str(row[0])
        if ref.seg_erid is not None:
            row = db.execute("SELECT id FROM customers WHERE external_id = ?", (ref.seg_erid,)).fetchone()
            if row:
                return str(row[0])
        return None

    def _apply(self, db: sqlite3.Connection, delivery: Delivery, park: Callable[[str], int]) -> Outcome:
        """Attach `delivery` inside the open transaction; `park(reason)` keeps what cannot be attached."""
        customer = self._customer_of(db, delivery)
        if customer is None:
            reason = f"unknown customer: {delivery.customer.describe()} matches no customer"
            return Outcome("parked", event=delivery.event, review_id=park(reason), reason=reason)
        counts = {"attached": 0, "updated": 0, "unchanged": 0, "stale": 0}
        problems = list(delivery.problems)
        now = _now()
        for answer in delivery.answers:
            try:
                record = canonical(answer.record())
            except (ValueError, RecursionError):  # nested past what json can write back
                problems.append(f"answer {json.dumps(answer.key)} is nested too deeply to keep")
                continue
            row = db.execute(
                "SELECT customer_id, record, updated, event FROM responses WHERE answer_key = ?", (answer.key,)
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO responses (answer_key, customer_id, record, updated, event, first_received, "
                    "last_received, deliveries, changes) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0)",
                    (answer.key, customer, record, answer.updated, delivery.event, now, now),
                )
                counts["attached"] += 1
            elif row[0] != customer:
                problems.append(
                    f"answer {json.dumps(answer.key)} is attached to customer {json.dumps(row[0])}, not this one"
                )
            elif row[1] == record or _older((answer.updated, delivery.event), (row[2], row[3])):
                db.execute(
                    "UPDATE responses SET deliveries = deliveries + 1, last_received = ? WHERE answer_key = ?",
                    (now, answer.key),
                )
                counts["unchanged" if row[1] == record else "stale"] += 1
            else:
                db.execute(
                    "UPDATE responses SET record = ?, updated = ?, event = ?, deliveries = deliveries + 1, "
                    "changes = changes + 1, last_received = ? WHERE answer_key = ?",
                    (record, answer.updated, delivery.event, now, answer.key),
                )
                counts["updated"] += 1
        why = "; ".join(problems) if problems else None
        review_id = park(why) if why else None
        return Outcome("attached", event=delivery.event, customer=customer, review_id=review_id, reason=why, **counts)
