"""What hookbin answers to each request: the `Responder`, which keeps the spec, rules and counters.

The spec and rule grammar lives in `hookbin.spec`; this module walks it. In `delivery`
mode each delivery (a request's delivery key) counts its own way through a sequence; in
`global` mode all requests of a spec or rule share one count; a chance spec rolls for
every request, repeatably with a seed (`Responder(seed=...)`). A request whose delivery
is unknown counts as a delivery of its own. Each rule keeps its own counters.

An experiment is a *run* (`model.Run`): every change to the answer (spec, rules, body,
headers) starts the next run, even when the new answer equals the old one, and so does
`new_run()`; all counters start again in each. Each `Decision` names its run.

This module is pure: no I/O, no event loop. The server asks `Responder.decide()` and
carries the `Decision` out.
"""

from __future__ import annotations

import base64
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from hookbin.model import Headers
from hookbin.spec import Rule, Spec, Step, check_content_type, check_header, parse_header_line, parse_rule, parse_spec

__all__ = ["KEEP", "Decision", "Responder"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What to answer to one request, as chosen by `Responder.decide`."""

    status: int
    """HTTP status to send (for `close`/`reset`, the status that would have been sent)."""
    headers: Headers = ()
    """Headers to send: the configured ones, plus Retry-After when the step has one."""
    body: bytes | None = None
    """Body to send; None lets the server use its default body."""
    content_type: str | None = None
    """Content-Type to send; None lets the server choose."""
    delay: float = 0.0
    """Seconds to wait before answering (or before the fault)."""
    fault: str | None = None
    """`close`, `reset` or `drip` instead of a plain answer; None for a plain answer."""
    drip: float = 0.0
    """For `drip`: seconds over which to trickle the body out."""
    rule: str | None = None
    """Canonical text of the rule that matched; None when the default spec answered."""
    spec: str = "200"
    """Canonical text of the spec that answered."""
    step: int = 1
    """1-based step of the sequence used; for a chance spec 1 = chance step, 2 = else step."""
    run: int = 1
    """The run this answer belongs to (see `Responder.run`)."""


# --------------------------------------------------------------------------- inputs


def _as_spec(spec: Spec | str) -> Spec:
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, str):
        return parse_spec(spec)
    raise TypeError(f"spec must be a Spec or str, not {type(spec).__name__}")


def _as_rules(rules: Sequence[Rule | str]) -> tuple[Rule, ...]:
    if isinstance(rules, (str, Rule)):
        raise TypeError("rules must be a sequence of rules; wrap a single rule in a list")
    out = []
    for rule in rules:
        if isinstance(rule, Rule):
            out.append(rule)
        elif isinstance(rule, str):
            out.append(parse_rule(rule))
        else:
            raise TypeError(f"a rule must be a Rule or str, not {type(rule).__name__}")
    return tuple(out)


def _as_headers(headers: Sequence[tuple[str, str] | str]) -> Headers:
    if isinstance(headers, str):
        raise TypeError("headers must be a sequence of (name, value) pairs or 'Name: value' lines")
    out = []
    for item in headers:
        if isinstance(item, str):
            out.append(parse_header_line(item))
        else:
            name, value = item
            out.append(check_header(name, value, f"{name}: {value}"))
    return tuple(out)


def _as_body(body: bytes | str | None) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"body must be bytes, str or None, not {type(body).__name__}")


_Key = tuple[int | None, Hashable]


class _Keep:
    """The type of `KEEP`."""


KEEP = _Keep()
"""For `Responder.update`: leave this part of the answer as it is."""


class Responder:
    """Decides what hookbin answers to each request, from a default spec and rules.

    Safe to share between threads: the UI may change the spec while the server decides.
    Per-delivery counters are kept per (rule, delivery key), at most `max_keys` of them
    (least recently used dropped first); global counters per rule. Any change starts a new
    run and resets all counters, so a new experiment starts fresh.

    Args:
        run: the number of the run this answer starts (a server renumbers it after the
            runs its store has seen, with `new_run`).
    """

    def __init__(
        self,
        spec: Spec | str = "200",
        rules: Sequence[Rule | str] = (),
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        seed: int | None = None,
        max_keys: int = 100_000,
        run: int = 1,
    ) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be a positive int, not {max_keys!r}")
        self._lock = threading.Lock()
        self._spec = _as_spec(spec)
        self._rules = _as_rules(rules)
        self._body = _as_body(body)
        self._content_type = check_content_type(content_type)
        self._headers = _as_headers(headers)
        self._seed = seed
        self._random = random.Random(seed)
        self._max_keys = max_keys
        self._deliveries: OrderedDict[_Key, int] = OrderedDict()
        self._global: dict[int | None, int] = {}
        self._run = run
        self._subscribers: list[Callable[[], None]] = []
        self._settled: Decision | None = None
        """The one answer every request gets in this run, when there is one (see `decide`)."""
        self._generation = 0
        """Counts the changes (each starts a run), so a decision made meanwhile is not kept."""

    # -- state

    @property
    def spec(self) -> Spec:
        """The default spec, for requests that match no rule."""
        return self._spec

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, first match wins."""
        return self._rules

    @property
    def body(self) -> bytes | None:
        """The configured body; None lets the server use its default."""
        return self._body

    @property
    def content_type(self) -> str | None:
        """The configured Content-Type; None lets the server choose."""
        return self._content_type

    @property
    def headers(self) -> Headers:
        """The configured extra response headers."""
        return self._headers

    @property
    def seed(self) -> int | None:
        """The seed of the random generator that chance specs roll with."""
        return self._seed

    @property
    def tracked_keys(self) -> int:
        """How many (rule, delivery) counters are currently kept (at most `max_keys`)."""
        with self._lock:
            return len(self._deliveries)

    @property
    def run(self) -> int:
        """The current run's number: the answers decided now belong to it."""
        with self._lock:
            return self._run

    def update(
        self,
        *,
        spec: Spec | str | _Keep = KEEP,
        rules: Sequence[Rule | str] | _Keep = KEEP,
        body: bytes | str | _Keep | None = KEEP,
        content_type: str | _Keep | None = KEEP,
        headers: Sequence[tuple[str, str] | str] | _Keep = KEEP,
    ) -> int:
        """Change any parts of the answer at once and start the next run; returns its number.

        Every part is checked before anything changes: on SpecError (or TypeError) the
        answer and the run stay as they were. Parts left as `KEEP` stay; `body=None` and
        `content_type=None` mean the server's defaults.
        """
        new_spec = None if isinstance(spec, _Keep) else _as_spec(spec)
        new_rules = None if isinstance(rules, _Keep) else _as_rules(rules)
        new_body = body if isinstance(body, _Keep) else _as_body(body)
        new_type = content_type if isinstance(content_type, _Keep) else check_content_type(content_type)
        new_headers = None if isinstance(headers, _Keep) else _as_headers(headers)
        with self._lock:
            if new_spec is not None:
                self._spec = new_spec
            if new_rules is not None:
                self._rules = new_rules
            if not isinstance(new_body, _Keep):
                self._body = new_body
            if not isinstance(new_type, _Keep):
                self._content_type = new_type
            if new_headers is not None:
                self._headers = new_headers
            run = self._start_run(None)
        self._notify()
        return run

    def new_run(self, number: int | None = None) -> int:
        """Start the next run with the same answer: counters start again; returns its number.

        Args:
            number: the new run's number; by default the current one plus one.
        """
        with self._lock:
            run = self._start_run(number)
        self._notify()
        return run

    def set_spec(self, spec: Spec | str) -> None:
        """Replace the default spec (a new run); on SpecError nothing changes."""
        self.update(spec=spec)

    def set_rules(self, rules: Sequence[Rule | str]) -> None:
        """Replace the rules (a new run); on a bad rule nothing changes."""
        self.update(rules=rules)

    def set_body(self, body: bytes | str | None, content_type: str | None = None) -> None:
        """Set the body (str is sent as UTF-8) and Content-Type (a new run); None means the server's default."""
        self.update(body=body, content_type=content_type)

    def set_headers(self, headers: Sequence[tuple[str, str] | str]) -> None:
        """Set the extra response headers, as (name, value) pairs or `Name: value` lines (a new run)."""
        self.update(headers=headers)

    def _start_run(self, number: int | None) -> int:
        """Reset every counter and move to run `number` (call with the lock held)."""
        self._deliveries.clear()
        self._global.clear()
        self._settled = None
        self._generation += 1
        self._run = self._run + 1 if number is None else number
        return self._run

    # -- deciding

    def decide(self, method: str, path: str, delivery_key: Hashable | None) -> Decision:
        """What to answer to a `method` request for `path` (without query string).

        `delivery_key` says which delivery the request is an attempt of; None counts the
        request as a delivery of its own (it gets step 1 of a per-delivery sequence).
        """
        with self._lock:
            if self._settled is not None:
                return self._settled
            index: int | None = None
            rule: Rule | None = None
            spec = self._spec
            for position, candidate in enumerate(self._rules):
                if candidate.matches(method, path):
                    index, rule, spec = position, candidate, candidate.spec
                    break
            if spec.chance is not None:
                hit = self._random.random() < spec.chance
                step, number = (spec.steps[0], 1) if hit else (spec.else_step or Step(), 2)
            else:
                number = self._count(index, spec, delivery_key)
                step = spec.steps[number - 1]
            headers, body, content_type, run = self._headers, self._body, self._content_type, self._run
            # No rules and one step, no chance: every request of this run gets this answer,
            # made once (the catcher asks for every request).
            settles = not self._rules and spec.chance is None and len(spec.steps) == 1
            generation = self._generation
        if step.retry_after is not None:
            headers = tuple(pair for pair in headers if pair[0].lower() != "retry-after")
            headers += (("Retry-After", step.retry_after),)
        decision = Decision(
            status=step.status,
            headers=headers,
            body=body,
            content_type=content_type,
            delay=step.delay,
            fault=step.fault,
            drip=step.drip,
            rule=rule.text if rule else None,
            spec=spec.text,
            step=number,
            run=run,
        )
        if settles:
            with self._lock:
                if self._generation == generation:
                    self._settled = decision
        return decision

    def _count(self, index: int | None, spec: Spec, delivery_key: Hashable | None) -> int:
        """The 1-based step for this request, counting it (call with the lock held)."""
        last = len(spec.steps)
        if spec.mode == "global":
            seen = self._global.get(index, 0) + 1
            self._global[index] = seen
            return min(seen, last)
        if last == 1 or delivery_key is None:
            return 1
        key = (index, delivery_key)
        seen = self._deliveries.pop(key, 0) + 1
        self._deliveries[key] = min(seen, last)  # re-inserted: now the most recent
        if len(self._deliveries) > self._max_keys:
            self._deliveries.popitem(last=False)
        return min(seen, last)

    # -- reporting

    def snapshot(self) -> dict[str, Any]:
        """The configuration as JSON-able data (spec and rule texts, headers, body, seed, run).

        `body` is UTF-8 text, or base64 when the body is not UTF-8 (`body_encoding` says
        which; None when there is no body).
        """
        with self._lock:
            body, encoding = None, None
            if self._body is not None:
                try:
                    body, encoding = self._body.decode("utf-8"), "utf-8"
                except UnicodeDecodeError:
                    body, encoding = base64.b64encode(self._body).decode("ascii"), "base64"
            return {
                "spec": self._spec.text,
                "rules": [rule.text for rule in self._rules],
                "headers": [list(pair) for pair in self._headers],
                "content_type": self._content_type,
                "body": body,
                "body_encoding": encoding,
                "seed": self._seed,
                "run": self._run,
            }

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after every set_* change; returns a function that unsubscribes.

        Callbacks run in the thread that made the change, outside the lock. If one raises,
        the others still run and the first error is raised from the set_* call afterwards.
        """
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self) -> None:
        with self._lock:
            callbacks = list(self._subscribers)
        error: BaseException | None = None
        for callback in callbacks:
            try:
                callback()
            except Exception as exc:
                if error is None:
                    error = exc
        if error is not None:
            raise error
