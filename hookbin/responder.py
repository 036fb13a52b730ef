"""What hookbin answers: response specs, path rules, and the `Responder` that picks each answer.

A *response spec* says what to answer, as a short text you type on the command line or
in the UI. It may be a sequence, so that a delivery's first attempt fails and its
retries succeed, or a chance, so that some requests fail at random.

Grammar of a response spec::

    spec   := [mode ":"] steps | chance
    mode   := "delivery" | "global"            (default: delivery)
    steps  := step ("," step)*                  a sequence, e.g. "500,500,200"
    step   := word (" " word)*                  e.g. "429 retry-after=30", "200 delay=65s"
    word   := STATUS                            100..599 (default 200 when a step has only other words)
            | "close"                           close the connection without answering
            | "reset"                           reset the connection (TCP RST)
            | "drip=" DURATION                  answer, but trickle the body out over DURATION
            | "delay=" DURATION                 wait DURATION before answering (any length, 65s, 10m)
            | "retry-after=" VALUE              adds a Retry-After header (seconds or an HTTP date, as given)
            | "ok" (= 200) | "timeout" (= "delay=10m", longer than any sender's timeout)
    chance := PERCENT "%" " " step [" else " step]   e.g. "30% 503", "30% 503 else 200 delay=1s"

Whitespace around commas and the colon is optional, several spaces are allowed, and
words are case-insensitive (a Retry-After value is sent exactly as given). DURATION is
a bare number of seconds (`90`) or number-unit parts with `h`, `m`, `s`, `ms`, largest
first (`250ms`, `1.5s`, `1m30s`, `1h`). An HTTP date may follow `retry-after=` with its
spaces and comma: `429 retry-after=Wed, 21 Oct 2015 07:28:00 GMT`.

A step may not combine `close` or `reset` with a status, a `retry-after=`, or another
fault (`close`, `reset`, `drip=`); it may wait first (`close delay=5s`). A step has at
most one status and one of each `word=`. `timeout` counts as a `delay=`.

What a sequence means:

* `delivery` mode (the default): a delivery's first request gets step 1, its second
  (first retry) step 2, and so on; requests beyond the last step get the last step.
  Each delivery counts separately, so interleaved deliveries each see the whole
  sequence. `500,500,200` fails every delivery twice and then accepts it.
* `global` mode: the Nth request overall that uses this spec (or rule) gets step N;
  the last step repeats. `global: 200,200,503` accepts two requests, then fails all.
* chance: every request rolls independently; it gets the chance step with the given
  probability and the else step otherwise (plain `200` when there is no `else`).
  With a seed (`Responder(seed=...)`) the rolls repeat from run to run.

A request whose delivery is unknown counts as a delivery of its own. Changing the spec
or the rules starts a new experiment: all counters start again. Every spec has a
canonical text (`500, 500 ,200` is `500,500,200`, `timeout` is `200 delay=10m`), which
is what hookbin shows and stores.

Examples: `200`, `500,500,200`, `429 retry-after=30,200`, `timeout,200`,
`global: 503,503,200`, `30% 503`, `30% 503 else 200 delay=1s`, `close`, `reset`,
`200 drip=30s`, `close delay=65s`.

A *rule* gives some requests their own spec: `[METHOD] GLOB => SPEC`, e.g.
`POST /segmanta/* => 500,500,200`, `/health => 200`, `* /x/** => 503`. METHOD is an
HTTP method (case-insensitive; `*` or none means any). GLOB is matched against the whole
request path, without the query string, with shell-style wildcards: `*` matches any
characters *including* `/` (so `/x/*` also matches `/x/a/b`, and `**` means the same as
`*`), `?` matches one character, `[abc]` one of a set. Matching is case-sensitive, and a
glob must start with `/` or a wildcard. The first matching rule wins; a request that
matches no rule gets the default spec. Each rule keeps its own counters.

This module is pure: no I/O, no event loop. The server asks `Responder.decide()` and
carries the `Decision` out.
"""

from __future__ import annotations

import base64
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fnmatch import fnmatchcase
from fractions import Fraction
from typing import Any

from hookbin.durations import format_duration, parse_duration
from hookbin.model import Headers

__all__ = [
    "Decision",
    "Responder",
    "Rule",
    "RuleError",
    "Spec",
    "SpecError",
    "Step",
    "parse_header_line",
    "parse_rule",
    "parse_spec",
]

STATUS_MIN = 100
STATUS_MAX = 599
TIMEOUT_DELAY = 600.0
"""Seconds that `timeout` waits (10 minutes): longer than any sender's timeout."""
MODES = ("delivery", "global")
FAULTS = ("close", "reset", "drip")

_WORDS_HINT = "is not a status (100-599), close, reset, ok, timeout, delay=, drip= or retry-after="
_EXAMPLES = "e.g. 200, 500,500,200 or 30% 503"

_STATUS = re.compile(r"[1-5][0-9][0-9]", re.ASCII)
_PERCENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)%", re.ASCII)
_MODE_PREFIX = re.compile(r"\s*([A-Za-z][A-Za-z_-]*)\s*:")
# The three HTTP date forms (RFC 9110 section 5.6.7); they contain spaces and a comma,
# so the tokenizer reads one as a whole after `retry-after=`.
_HTTP_DATE = re.compile(
    r"""(?:
        [a-z]{3},[ \t]+[0-9]{1,2}[ \t]+[a-z]{3}[ \t]+[0-9]{4}[ \t]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}[ \t]+gmt
      | [a-z]{6,9},[ \t]+[0-9]{1,2}-[a-z]{3}-[0-9]{2}[ \t]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}[ \t]+gmt
      | [a-z]{3}[ \t]+[a-z]{3}[ \t]+[0-9]{1,2}[ \t]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}[ \t]+[0-9]{4}
    )(?=[\s,]|\Z)""",
    re.ASCII | re.IGNORECASE | re.VERBOSE,
)
_RETRY_TOKEN = re.compile(r"[!-+\--~]+", re.ASCII)  # printable ASCII except the comma
_HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", re.ASCII)
_BAD_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_RETRY_AFTER = "retry-after="


class SpecError(ValueError):
    """A response spec, rule or header line that cannot be read.

    The message is one line and names the bad part, e.g. `bad response spec '5x3':
    '5x3' is not a status (100-599), ...`. `detail` is the message without its `bad ... '<text>':` prefix.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail if detail is not None else message


class RuleError(SpecError):
    """A rule that cannot be read: missing `=>`, a bad method or glob, or a bad spec."""


class _Bad(Exception):
    """Internal: what is wrong with a spec, before the `bad response spec '...'` prefix."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Step:
    """One answer of a spec: a status with optional delay, fault and Retry-After."""

    status: int = 200
    """HTTP status (100-599). Left at 200 for `close`/`reset`, which send none."""
    delay: float = 0.0
    """Seconds to wait before answering (or before closing or resetting)."""
    fault: str | None = None
    """`close`, `reset` or `drip` instead of a plain answer; None for a plain answer."""
    drip: float = 0.0
    """For the `drip` fault: seconds over which the body is trickled out."""
    retry_after: str | None = None
    """Value of a Retry-After header to add, exactly as given; None for no header."""
    text: str = field(init=False, repr=False, compare=False)
    """Canonical text, e.g. `429 delay=2s retry-after=30`; `parse_spec` reads it back as this step."""

    def __post_init__(self) -> None:
        _check_step(self)
        object.__setattr__(self, "text", _step_text(self))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Spec:
    """A parsed response spec: a sequence of steps (per delivery or global) or a chance."""

    steps: tuple[Step, ...] = field(default_factory=lambda: (Step(),))
    """The sequence; for a chance spec, just the chance step."""
    mode: str = "delivery"
    """`delivery`: each delivery walks the sequence; `global`: all requests share one count."""
    chance: float | None = None
    """For a chance spec, the probability (0..1) of answering with the chance step; else None."""
    else_step: Step | None = None
    """For a chance spec, the step used when the roll misses (plain 200 by default); else None."""
    text: str = field(init=False, repr=False, compare=False)
    """Canonical text, e.g. `global: 500,200` or `30% 503 else 200 delay=1s`; reads back equal."""

    def __post_init__(self) -> None:
        steps = tuple(self.steps) if not isinstance(self.steps, Step) else (self.steps,)
        if not steps:
            raise SpecError("bad response spec: a spec needs at least one step")
        for step in steps:
            if not isinstance(step, Step):
                raise TypeError(f"spec steps must be Step, not {type(step).__name__}")
        object.__setattr__(self, "steps", steps)
        if self.mode not in MODES:
            raise SpecError(f"bad response spec: unknown mode {self.mode!r}: use delivery or global")
        if self.chance is None:
            if self.else_step is not None:
                raise SpecError("bad response spec: else_step needs a chance")
        else:
            chance = float(self.chance)
            if not 0.0 <= chance <= 1.0:
                raise SpecError(f"bad response spec: chance {self.chance!r} is not between 0 and 1")
            if len(steps) != 1:
                raise SpecError("bad response spec: a chance spec has exactly one step")
            if self.mode != "delivery":
                raise SpecError("bad response spec: a chance spec takes no mode")
            object.__setattr__(self, "chance", chance)
            if self.else_step is None:
                object.__setattr__(self, "else_step", Step())
            elif not isinstance(self.else_step, Step):
                raise TypeError(f"else_step must be a Step, not {type(self.else_step).__name__}")
        object.__setattr__(self, "text", _spec_text(self))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Rule:
    """`[METHOD] GLOB => SPEC`: requests whose method and path match get `spec`."""

    method: str | None
    """Upper-case HTTP method to match, or None for any (`*`)."""
    glob: str
    """Shell-style pattern matched against the whole path; `*` also matches `/`."""
    spec: Spec
    """What matching requests get."""
    text: str = field(init=False, repr=False, compare=False)
    """Canonical text, e.g. `POST /segmanta/* => 500,500,200`; round-trips through `parse_rule`."""

    def __post_init__(self) -> None:
        method = self.method
        if method is not None:
            if method == "*":
                method = None
            elif not isinstance(method, str) or not _HTTP_TOKEN.fullmatch(method):
                raise RuleError(f"bad rule: {method!r} is not an HTTP method")
            else:
                method = method.upper()
        object.__setattr__(self, "method", method)
        problem = _glob_problem(self.glob)
        if problem:
            raise RuleError(f"bad rule: {problem}")
        if isinstance(self.spec, str):
            object.__setattr__(self, "spec", parse_spec(self.spec))
        elif not isinstance(self.spec, Spec):
            raise TypeError(f"rule spec must be a Spec or str, not {type(self.spec).__name__}")
        prefix = f"{method} " if method else ""
        object.__setattr__(self, "text", f"{prefix}{self.glob} => {self.spec.text}")

    def __str__(self) -> str:
        return self.text

    def matches(self, method: str, path: str) -> bool:
        """True when `method` (any case) and `path` (without query) match this rule."""
        if self.method is not None and self.method != method.upper():
            return False
        return fnmatchcase(path, self.glob)


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


# --------------------------------------------------------------------------- text forms


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _percent_text(chance: float) -> str:
    with localcontext() as ctx:
        ctx.prec = 100
        return _plain(Decimal(repr(chance)) * 100)


def _step_text(step: Step) -> str:
    words = [step.fault if step.fault in ("close", "reset") else str(step.status)]
    if step.delay:
        words.append("delay=" + format_duration(step.delay))
    if step.fault == "drip":
        words.append("drip=" + format_duration(step.drip))
    if step.retry_after is not None:
        words.append(_RETRY_AFTER + step.retry_after)
    return " ".join(words)


def _spec_text(spec: Spec) -> str:
    if spec.chance is not None:
        text = f"{_percent_text(spec.chance)}% {spec.steps[0].text}"
        if spec.else_step is not None and spec.else_step != Step():
            text += f" else {spec.else_step.text}"
        return text
    steps = ",".join(step.text for step in spec.steps)
    return f"global: {steps}" if spec.mode == "global" else steps


def _valid_retry_after(value: str) -> bool:
    return bool(_RETRY_TOKEN.fullmatch(value) or _HTTP_DATE.fullmatch(value))


def _check_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"step {name} must be seconds as a number, not {type(value).__name__}")
    seconds = float(value)
    if not (0.0 <= seconds < float("inf")):
        raise SpecError(f"bad step: {name} {value!r} is not a finite number of seconds >= 0")
    return seconds


def _check_step(step: Step) -> None:
    if isinstance(step.status, bool) or not isinstance(step.status, int):
        raise TypeError(f"step status must be an int, not {type(step.status).__name__}")
    if not STATUS_MIN <= step.status <= STATUS_MAX:
        raise SpecError(f"bad step: status {step.status} is not between 100 and 599")
    object.__setattr__(step, "delay", _check_seconds("delay", step.delay))
    object.__setattr__(step, "drip", _check_seconds("drip", step.drip))
    if step.fault not in (None, *FAULTS):
        raise SpecError(f"bad step: unknown fault {step.fault!r}: use close, reset or drip")
    if step.drip and step.fault != "drip":
        raise SpecError("bad step: a drip duration needs fault='drip'")
    if step.fault in ("close", "reset"):
        if step.status != 200:
            raise SpecError(f"bad step: {step.fault} does not send a status")
        if step.retry_after is not None:
            raise SpecError(f"bad step: {step.fault} sends no answer, so no Retry-After")
    if step.retry_after is not None and (
        not isinstance(step.retry_after, str) or not _valid_retry_after(step.retry_after)
    ):
        raise SpecError(
            f"bad step: Retry-After {step.retry_after!r} must be printable ASCII "
            "without commas, or an HTTP date"
        )


# --------------------------------------------------------------------------- parsing

_COMMA = ","  # the tokenizer yields commas as this one-character item; words never equal it


def _tokenize(text: str) -> list[str]:
    """Words and commas of `text`; an HTTP date after `retry-after=` stays one word."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == ",":
            items.append(_COMMA)
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ",":
            j += 1
        if text[i : i + len(_RETRY_AFTER)].lower() == _RETRY_AFTER:
            date = _HTTP_DATE.match(text, i + len(_RETRY_AFTER))
            if date:
                j = date.end()
        items.append(text[i:j])
        i = j
    return items


def _duration(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _parse_step(words: list[str]) -> Step:
    whole = " ".join(words)
    status: int | None = None
    delay: float | None = None
    fault: str | None = None
    fault_word = ""
    drip = 0.0
    retry_after: str | None = None
    for word in words:
        low = word.lower()
        if _STATUS.fullmatch(low) or low == "ok":
            if status is not None:
                raise _Bad(f"two statuses in one step ({whole!r})")
            status = 200 if low == "ok" else int(low)
        elif low in ("close", "reset") or low.startswith("drip="):
            name = low if low in ("close", "reset") else "drip="
            if fault is not None:
                if name == fault_word:
                    raise _Bad(f"{name} given twice in one step ({whole!r})")
                raise _Bad(f"{fault_word} and {name} cannot go in one step ({whole!r})")
            fault, fault_word = name.rstrip("="), name
            if name == "drip=":
                drip = _duration(word[len("drip=") :])
        elif low == "timeout" or low.startswith("delay="):
            if delay is not None:
                raise _Bad(f"two delays in one step ({whole!r}); timeout is delay=10m")
            delay = TIMEOUT_DELAY if low == "timeout" else _duration(word[len("delay=") :])
        elif low.startswith(_RETRY_AFTER):
            if retry_after is not None:
                raise _Bad(f"retry-after= given twice in one step ({whole!r})")
            retry_after = word[len(_RETRY_AFTER) :]
            if not retry_after:
                raise _Bad("retry-after= needs a value: seconds or an HTTP date, e.g. retry-after=30")
            if not _valid_retry_after(retry_after):
                raise _Bad(f"{word!r}: a Retry-After value must be printable ASCII or an HTTP date")
        elif low == "else":
            raise _Bad("'else' only follows a chance, e.g. '30% 503 else 200'")
        elif low.endswith("%"):
            raise _Bad(f"a chance ({word!r}) must start the spec and has no sequence, e.g. '30% 503'")
        else:
            raise _Bad(f"{word!r} {_WORDS_HINT}")
    if fault in ("close", "reset"):
        if status is not None:
            raise _Bad(f"{fault} does not send a status ({whole!r})")
        if retry_after is not None:
            raise _Bad(f"{fault} sends no answer, so retry-after= cannot go with it ({whole!r})")
    return Step(
        status=200 if status is None else status,
        delay=delay or 0.0,
        fault=fault,
        drip=drip,
        retry_after=retry_after,
    )


def _parse_chance(items: list[str]) -> Spec:
    if _COMMA in items:
        raise _Bad("a chance spec has no sequence (no commas), e.g. '30% 503 else 200'")
    percent_word, words = items[0], items[1:]
    match = _PERCENT.fullmatch(percent_word)
    if match is None:
        raise _Bad(f"{percent_word!r} is not a percentage (0-100%)")
    percent = Fraction(match.group(1))
    if percent > 100:
        raise _Bad(f"{percent_word!r} is more than 100%")
    lowered = [word.lower() for word in words]
    if lowered.count("else") > 1:
        raise _Bad("'else' given twice; a chance has one else step")
    if "else" in lowered:
        cut = lowered.index("else")
        chance_words, else_words = words[:cut], words[cut + 1 :]
        if not else_words:
            raise _Bad("'else' needs a step, e.g. '30% 503 else 200'")
    else:
        chance_words, else_words = words, []
    if not chance_words:
        raise _Bad(f"{percent_word!r} needs a step, e.g. '{percent_word} 503'")
    step = _parse_step(chance_words)
    else_step = _parse_step(else_words) if else_words else Step()
    return Spec(steps=(step,), chance=float(percent / 100), else_step=else_step)


def _parse(text: str) -> Spec:
    rest = text
    mode: str | None = None
    prefix = _MODE_PREFIX.match(text)
    if prefix:
        name = prefix.group(1)
        if name.lower() in ("retry-after", "delay", "drip"):
            raise _Bad(f"'{name}:' should be '{name.lower()}=', e.g. '{name.lower()}=30'")
        if name.lower() not in MODES:
            raise _Bad(f"unknown mode {name!r}: use delivery: or global:")
        mode, rest = name.lower(), text[prefix.end() :]
    items = _tokenize(rest)
    if not items:
        if mode:
            raise _Bad(f"no steps after '{mode}:', e.g. '{mode}: 500,200'")
        raise _Bad(f"empty; use {_EXAMPLES}")
    if items[0] != _COMMA and items[0].endswith("%"):
        if mode:
            raise _Bad(f"a chance spec takes no mode; drop '{mode}:'")
        return _parse_chance(items)
    steps: list[Step] = []
    group: list[str] = []
    for item in [*items, _COMMA]:
        if item == _COMMA:
            if not group:
                raise _Bad("empty step (two commas in a row, or a comma at an end)")
            steps.append(_parse_step(group))
            group = []
        else:
            group.append(item)
    return Spec(steps=tuple(steps), mode=mode or "delivery")


def parse_spec(text: str) -> Spec:
    """The `Spec` written in `text` (see the module docstring for the grammar).

    Raises SpecError, whose one-line message quotes `text` and names the bad part.
    """
    if not isinstance(text, str):
        raise TypeError(f"response spec must be a str, not {type(text).__name__}")
    try:
        return _parse(text)
    except _Bad as bad:
        raise SpecError(f"bad response spec {text!r}: {bad}", str(bad)) from None


def _glob_problem(glob: Any) -> str | None:
    if not isinstance(glob, str) or not glob:
        return "missing the path glob, e.g. '/hooks/* => 500'"
    if any(char.isspace() for char in glob):
        return f"glob {glob!r} contains whitespace"
    if glob[0] not in "/*?[":
        return (
            f"glob {glob!r} never matches: paths start with '/' "
            f"(write e.g. '{glob} /* => 500' or '/{glob} => 500')"
        )
    return None


def parse_rule(text: str) -> Rule:
    """The `Rule` written in `text`: `[METHOD] GLOB => SPEC`, e.g. `POST /hooks/* => 500,200`.

    Raises RuleError (a SpecError), whose one-line message quotes `text` and names the bad part.
    """
    if not isinstance(text, str):
        raise TypeError(f"rule must be a str, not {type(text).__name__}")

    def bad(detail: str) -> RuleError:
        return RuleError(f"bad rule {text!r}: {detail}", detail)

    left, arrow, right = text.partition("=>")
    if not arrow:
        raise bad("missing '=>', write e.g. 'POST /hooks/* => 500,200'")
    words = left.split()
    if not words:
        raise bad("missing the path glob before '=>', e.g. '/hooks/* => 500'")
    if len(words) > 2:
        raise bad(f"{left.strip()!r} is not [METHOD] GLOB, e.g. 'POST /hooks/*'")
    method, glob = (None, words[0]) if len(words) == 1 else (words[0], words[1])
    if method is not None and method != "*" and not _HTTP_TOKEN.fullmatch(method):
        raise bad(f"{method!r} is not an HTTP method")
    problem = _glob_problem(glob)
    if problem:
        raise bad(problem)
    if not right.strip():
        raise bad("missing the response spec after '=>', e.g. '/hooks/* => 500,200'")
    try:
        spec = _parse(right)
    except _Bad as exc:
        raise bad(str(exc)) from None
    return Rule(method=method, glob=glob, spec=spec)


def _check_header(name: Any, value: Any, shown: str) -> tuple[str, str]:
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("header name and value must be str")
    if not name:
        raise SpecError(f"bad header {shown!r}: empty name", "empty name")
    if not _HTTP_TOKEN.fullmatch(name):
        detail = f"{name!r} is not a header name (letters, digits and -, no spaces or control characters)"
        raise SpecError(f"bad header {shown!r}: {detail}", detail)
    if _BAD_HEADER_VALUE.search(value):
        detail = "the value contains a line break or control character"
        raise SpecError(f"bad header {shown!r}: {detail}", detail)
    return name, value.strip(" \t")


def parse_header_line(line: str) -> tuple[str, str]:
    """`("Name", "value")` from `"Name: value"`; raises SpecError naming the bad line.

    The name must be an HTTP token (no spaces or control characters); the value may be
    empty, loses surrounding spaces, and may not contain CR, LF or other control characters.
    """
    if not isinstance(line, str):
        raise TypeError(f"header line must be a str, not {type(line).__name__}")
    name, colon, value = line.strip(" \t").partition(":")
    if not colon:
        detail = "no ':', write e.g. 'X-Test: 1'"
        raise SpecError(f"bad header {line!r}: {detail}", detail)
    return _check_header(name, value, line)


# --------------------------------------------------------------------------- responder


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
            out.append(_check_header(name, value, f"{name}: {value}"))
    return tuple(out)


def _as_body(body: bytes | str | None) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"body must be bytes, str or None, not {type(body).__name__}")


def _as_content_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    if not isinstance(content_type, str):
        raise TypeError(f"content type must be a str or None, not {type(content_type).__name__}")
    if _BAD_HEADER_VALUE.search(content_type):
        raise SpecError(f"bad content type {content_type!r}: contains a line break or control character")
    return content_type.strip(" \t") or None


_Key = tuple[int | None, Hashable]


class Responder:
    """Decides what hookbin answers to each request, from a default spec and rules.

    Safe to share between threads: the UI may change the spec while the server decides.
    Per-delivery counters are kept per (rule, delivery key), at most `max_keys` of them
    (least recently used dropped first); global counters per rule. Changing the spec or
    the rules resets all counters, so a new experiment starts fresh.
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
    ) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be a positive int, not {max_keys!r}")
        self._lock = threading.Lock()
        self._spec = _as_spec(spec)
        self._rules = _as_rules(rules)
        self._body = _as_body(body)
        self._content_type = _as_content_type(content_type)
        self._headers = _as_headers(headers)
        self._seed = seed
        self._random = random.Random(seed)
        self._max_keys = max_keys
        self._deliveries: OrderedDict[_Key, int] = OrderedDict()
        self._global: dict[int | None, int] = {}
        self._subscribers: list[Callable[[], None]] = []

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

    def set_spec(self, spec: Spec | str) -> None:
        """Replace the default spec and reset all counters; on SpecError nothing changes."""
        new = _as_spec(spec)
        with self._lock:
            self._spec = new
            self._reset()
        self._notify()

    def set_rules(self, rules: Sequence[Rule | str]) -> None:
        """Replace the rules and reset all counters; on a bad rule nothing changes."""
        new = _as_rules(rules)
        with self._lock:
            self._rules = new
            self._reset()
        self._notify()

    def set_body(self, body: bytes | str | None, content_type: str | None = None) -> None:
        """Set the body (str is sent as UTF-8) and Content-Type; None means the server's default."""
        new_body, new_type = _as_body(body), _as_content_type(content_type)
        with self._lock:
            self._body, self._content_type = new_body, new_type
        self._notify()

    def set_headers(self, headers: Sequence[tuple[str, str] | str]) -> None:
        """Set the extra response headers, as (name, value) pairs or `Name: value` lines."""
        new = _as_headers(headers)
        with self._lock:
            self._headers = new
        self._notify()

    def reset_counters(self) -> None:
        """Start the sequences again from step 1 without changing anything else."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        self._deliveries.clear()
        self._global.clear()

    # -- deciding

    def decide(self, method: str, path: str, delivery_key: Hashable | None) -> Decision:
        """What to answer to a `method` request for `path` (without query string).

        `delivery_key` says which delivery the request is an attempt of; None counts the
        request as a delivery of its own (it gets step 1 of a per-delivery sequence).
        """
        with self._lock:
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
            headers, body, content_type = self._headers, self._body, self._content_type
        if step.retry_after is not None:
            headers = tuple(pair for pair in headers if pair[0].lower() != "retry-after")
            headers += (("Retry-After", step.retry_after),)
        return Decision(
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
        )

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
        """The configuration as JSON-able data (spec and rule texts, headers, body, seed).

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
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the others ran
                if error is None:
                    error = exc
        if error is not None:
            raise error
