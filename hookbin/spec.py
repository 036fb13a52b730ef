"""What to answer, as text: the response-spec and rule grammar, its data (`Step`, `Spec`, `Rule`) and canonical text.

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

Every spec has a canonical text (`500, 500 ,200` is `500,500,200`, `timeout` is
`200 delay=10m`), which is what hookbin shows and stores.

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
matches no rule gets the default spec.

Each rule about values lives once, in a `_*_problem` function that both the data classes
(built in code) and the parser (built from text) call; the parser itself only reads words.
Response header lines (`Name: value`) are read here too. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fnmatch import fnmatchcase
from fractions import Fraction
from typing import Any

from hookbin.durations import HTTP_DATE, format_duration, parse_duration

__all__ = [
    "FAULTS",
    "MODES",
    "TIMEOUT_DELAY",
    "Rule",
    "RuleError",
    "Spec",
    "SpecError",
    "Step",
    "check_content_type",
    "check_header",
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
_DROPS = ("close", "reset")  # the faults that send no answer at all

_WORDS_HINT = "is not a status (100-599), close, reset, ok, timeout, delay=, drip= or retry-after="
_EXAMPLES = "e.g. 200, 500,500,200 or 30% 503"

_STATUS = re.compile(r"[1-5][0-9][0-9]", re.ASCII)
_PERCENT = re.compile(r"([0-9]+(?:\.[0-9]+)?)%", re.ASCII)
_MODE_PREFIX = re.compile(r"\s*([A-Za-z][A-Za-z_-]*)\s*:")
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


# --------------------------------------------------------------------------- the rules, once


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"step {name} must be seconds as a number, not {type(value).__name__}")
    seconds = float(value)
    if not (0.0 <= seconds < float("inf")):
        raise SpecError(f"bad step: {name} {value!r} is not a finite number of seconds >= 0")
    return seconds


def _step_problem(
    status: int, fault: str | None, drip: float, retry_after: str | None, *, status_given: bool
) -> str | None:
    """What is wrong with a step's values, or None. `status_given`: a status was written."""
    if not STATUS_MIN <= status <= STATUS_MAX:
        return f"status {status} is not between {STATUS_MIN} and {STATUS_MAX}"
    if fault not in (None, *FAULTS):
        return f"unknown fault {fault!r}: use close, reset or drip"
    if drip and fault != "drip":
        return "a drip duration needs the drip fault"
    if fault in _DROPS:
        if status_given:
            return f"{fault} does not send a status"
        if retry_after is not None:
            return f"{fault} sends no answer, so retry-after= cannot go with it"
    if retry_after == "":
        return "retry-after= needs a value: seconds or an HTTP date, e.g. retry-after=30"
    if retry_after is not None and not (_RETRY_TOKEN.fullmatch(retry_after) or HTTP_DATE.fullmatch(retry_after)):
        return f"retry-after={retry_after!r}: the value must be printable ASCII without commas, or an HTTP date"
    return None


def _mode_problem(mode: str) -> str | None:
    return None if mode in MODES else f"unknown mode {mode!r}: use delivery: or global:"


def _spec_problem(steps: int, mode: str, chance: float | None, has_else: bool, *, mode_given: bool) -> str | None:
    """What is wrong with a spec's shape, or None. `mode_given`: a mode was written."""
    if steps < 1:
        return "a spec needs at least one step"
    problem = _mode_problem(mode)
    if problem:
        return problem
    if chance is None:
        return "an else step needs a chance, e.g. '30% 503 else 200'" if has_else else None
    if not 0.0 <= chance <= 1.0:
        return f"chance {_percent_text(chance)}% is not between 0% and 100%"
    if steps != 1:
        return "a chance spec has no sequence, e.g. '30% 503 else 200'"
    if mode_given:
        return f"a chance spec takes no mode; drop '{mode}:'"
    return None


def _rule_problem(method: Any, glob: Any) -> str | None:
    """What is wrong with a rule's method or glob, or None."""
    if method is not None and method != "*" and not (isinstance(method, str) and _HTTP_TOKEN.fullmatch(method)):
        return f"{method!r} is not an HTTP method"
    if not isinstance(glob, str) or not glob:
        return "missing the path glob, e.g. '/hooks/* => 500'"
    if any(char.isspace() for char in glob):
        return f"glob {glob!r} contains whitespace"
    if glob[0] not in "/*?[":
        return f"glob {glob!r} never matches: paths start with '/' (write e.g. '{glob} /* => 500' or '/{glob} => 500')"
    return None


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
        if isinstance(self.status, bool) or not isinstance(self.status, int):
            raise TypeError(f"step status must be an int, not {type(self.status).__name__}")
        if self.retry_after is not None and not isinstance(self.retry_after, str):
            raise TypeError(f"step retry_after must be a str, not {type(self.retry_after).__name__}")
        object.__setattr__(self, "delay", _seconds("delay", self.delay))
        object.__setattr__(self, "drip", _seconds("drip", self.drip))
        # Built in code, a close/reset step's status can only show it was given by differing from 200.
        problem = _step_problem(self.status, self.fault, self.drip, self.retry_after, status_given=self.status != 200)
        if problem:
            raise SpecError(f"bad step: {problem}", problem)
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
        for step in (*steps, *([] if self.else_step is None else [self.else_step])):
            if not isinstance(step, Step):
                raise TypeError(f"spec steps must be Step, not {type(step).__name__}")
        chance = self.chance
        if chance is not None:
            if isinstance(chance, bool) or not isinstance(chance, (int, float)):
                raise TypeError(f"chance must be a number, not {type(chance).__name__}")
            chance = float(chance)
        problem = _spec_problem(
            len(steps), self.mode, chance, self.else_step is not None, mode_given=self.mode != "delivery"
        )
        if problem:
            raise SpecError(f"bad response spec: {problem}", problem)
        object.__setattr__(self, "steps", steps)
        if chance is not None:
            object.__setattr__(self, "chance", chance)
            if self.else_step is None:
                object.__setattr__(self, "else_step", Step())
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
        problem = _rule_problem(self.method, self.glob)
        if problem:
            raise RuleError(f"bad rule: {problem}", problem)
        method = None if self.method in (None, "*") else self.method.upper()
        object.__setattr__(self, "method", method)
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


# --------------------------------------------------------------------------- text forms


def _percent_text(chance: float) -> str:
    with localcontext() as ctx:
        ctx.prec = 100
        return format((Decimal(repr(chance)) * 100).normalize(), "f")


def _step_text(step: Step) -> str:
    words = [step.fault if step.fault in _DROPS else str(step.status)]
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
            date = HTTP_DATE.match(text, i + len(_RETRY_AFTER))
            # A date's own comma and spaces belong to it only when the date ends the word.
            if date and (date.end() == n or text[date.end()].isspace() or text[date.end()] == ","):
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
        elif low in _DROPS or low.startswith("drip="):
            name = low if low in _DROPS else "drip="
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
        elif low == "else":
            raise _Bad("'else' only follows a chance, e.g. '30% 503 else 200'")
        elif low.endswith("%"):
            raise _Bad(f"a chance ({word!r}) must start the spec and has no sequence, e.g. '30% 503'")
        else:
            raise _Bad(f"{word!r} {_WORDS_HINT}")
    problem = _step_problem(
        200 if status is None else status, fault, drip, retry_after, status_given=status is not None
    )
    if problem:
        raise _Bad(f"{problem} ({whole!r})")
    return Step(
        status=200 if status is None else status, delay=delay or 0.0, fault=fault, drip=drip, retry_after=retry_after
    )


def _spec(steps: list[Step], mode: str | None, chance: float | None = None, else_step: Step | None = None) -> Spec:
    problem = _spec_problem(len(steps), mode or "delivery", chance, else_step is not None, mode_given=mode is not None)
    if problem:
        raise _Bad(problem)
    return Spec(steps=tuple(steps), mode=mode or "delivery", chance=chance, else_step=else_step)


def _parse_chance(items: list[str], mode: str | None) -> Spec:
    if _COMMA in items:
        raise _Bad("a chance spec has no sequence (no commas), e.g. '30% 503 else 200'")
    percent_word, words = items[0], items[1:]
    match = _PERCENT.fullmatch(percent_word)
    if match is None:
        raise _Bad(f"{percent_word!r} is not a percentage (0-100%)")
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
    return _spec([step], mode, float(Fraction(match.group(1)) / 100), else_step)


def _parse(text: str) -> Spec:
    rest = text
    mode: str | None = None
    prefix = _MODE_PREFIX.match(text)
    if prefix:
        name = prefix.group(1)
        if name.lower() in ("retry-after", "delay", "drip"):
            raise _Bad(f"'{name}:' should be '{name.lower()}=', e.g. '{name.lower()}=30'")
        mode, rest = name.lower(), text[prefix.end() :]
        problem = _mode_problem(mode)  # named before any step is read: the first mistake first
        if problem:
            raise _Bad(problem)
    items = _tokenize(rest)
    if not items:
        if mode:
            raise _Bad(f"no steps after '{mode}:', e.g. '{mode}: 500,200'")
        raise _Bad(f"empty; use {_EXAMPLES}")
    if items[0] != _COMMA and items[0].endswith("%"):
        return _parse_chance(items, mode)
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
    return _spec(steps, mode)


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
    problem = _rule_problem(method, glob)
    if problem:
        raise bad(problem)
    if not right.strip():
        raise bad("missing the response spec after '=>', e.g. '/hooks/* => 500,200'")
    try:
        spec = _parse(right)
    except _Bad as exc:
        raise bad(str(exc)) from None
    return Rule(method=method, glob=glob, spec=spec)


# --------------------------------------------------------------------------- header lines


def check_header(name: Any, value: Any, shown: str) -> tuple[str, str]:
    """`(name, value)` checked for sending, the value stripped; SpecError quotes `shown`.

    The name must be an HTTP token (no spaces or control characters); the value may be
    empty but may not contain CR, LF or other control characters.
    """
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
    return check_header(name, value, line)


def check_content_type(content_type: str | None) -> str | None:
    """A Content-Type to send, stripped (None or blank: the server chooses); SpecError for control characters."""
    if content_type is None:
        return None
    if not isinstance(content_type, str):
        raise TypeError(f"content type must be a str or None, not {type(content_type).__name__}")
    if _BAD_HEADER_VALUE.search(content_type):
        raise SpecError(f"bad content type {content_type!r}: contains a line break or control character")
    return content_type.strip(" \t") or None
