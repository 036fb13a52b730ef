"""One filter: the store's SQL and the live predicate agree, on the defects they once split on too."""

from __future__ import annotations

import sys
from datetime import UTC, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookbin.model import Capture, ResponseGiven
from hookbin.signatures import SignatureCheck
from hookbin.store import Filter, StoreError, capture_matches, open_store, parse_filter
from hookbin.store.filters import fold
from tests.factories import BASE_TIME, tcapture

# Pieces that make the two forms part ways if anything is off: letters whose folding is
# unusual (ß, ſ, the Kelvin sign, ﬁ, İ, final sigma), glob and JSON specials, the header
# separator, NUL, and bytes that are not UTF-8. Each example draws one or two of these and a
# few plain pieces, so that its captures and its filter share characters often.
TRICKY = [
    *(char.encode() for char in "ßẞſ\u212aﬁİıΣς"),
    b"*",
    b"?",
    b"[",
    b"!",
    b'"',
    b"\\",
    b":",
    b" ",
    b"\x00",
    b"\n",
    b"\x7f",
    b"\xff",
    b"\xc3",
    b"\xe9\x80",
    b"\xed\xa0\x80",
    b"\xc1\x81",
]
PLAIN = [b"a", b"A", b"s", b"S", b"k", b"K", b"i", b"I", b"/", b"]", b"-", *(char.encode() for char in "éÉσж€😀")]


class Pieces:
    """Bytes and text made of one example's pieces."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.piece = st.sampled_from(pieces)

    def raw(self, most: int = 6) -> st.SearchStrategy[bytes]:
        return st.lists(self.piece, max_size=most).map(b"".join)

    def text(self, most: int = 6) -> st.SearchStrategy[str]:
        """Text as the catcher makes it from bytes on the wire (undecodable bytes as escapes)."""
        return self.raw(most).map(lambda data: data.decode("utf-8", "surrogateescape"))


def variants(value: str) -> st.SearchStrategy[str]:
    """`value` with each character as it is, upper-cased, lower-cased or case-folded."""
    cases = [st.sampled_from([c, c.upper(), c.lower(), c.casefold()]) for c in value]
    return st.tuples(*cases).map("".join)


def cut(value: str) -> st.SearchStrategy[tuple[str, str, str]]:
    """`value` split in three at two random places."""
    ends = st.tuples(st.integers(0, len(value)), st.integers(0, len(value))).map(sorted)
    return ends.map(lambda e: (value[: e[0]], value[e[0] : e[1]], value[e[1] :]))


VERDICTS = [
    None,
    SignatureCheck("github", True, "ok"),
    SignatureCheck("standard", False, "does not match"),
    SignatureCheck("stripe", False, "missing header"),
]
"""`--verify` verdicts a capture may carry: none checked, valid, and two kinds of invalid."""


def captures(pieces: Pieces) -> st.SearchStrategy[list[Capture]]:
    # Few captures with few, short fields: a filter taken from one of them then often matches
    # it through one field alone, which is where the two forms would part.
    one = st.builds(
        dict,
        seconds=st.integers(0, 9),
        zone=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
        method=st.sampled_from(["GET", "POST"]) | pieces.text(2),
        path=pieces.text(4).map("/".__add__),
        query_string=st.just("") | pieces.text(3),
        headers=st.lists(st.tuples(pieces.text(2), pieces.text(3)), max_size=2).map(tuple),
        body=st.just(b"") | pieces.raw(6) | st.binary(max_size=6),
        status=st.sampled_from([None, 200, 201, 404, 500, 503]),
        delivery_key=st.sampled_from([None, "d1", "d2"]),
        signature=st.sampled_from(VERDICTS),
        run=st.sampled_from([None, 1, 2]),
    )

    def capture(number: int, fields: dict) -> Capture:
        status, zone, seconds = fields.pop("status"), fields.pop("zone"), fields.pop("seconds")
        return Capture(
            id=f"c{number:04d}",
            received_at=(BASE_TIME + timedelta(seconds=seconds)).astimezone(zone),
            response=None if status is None else ResponseGiven(status=status),
            **fields,
        )

    return st.lists(one, min_size=1, max_size=4).map(lambda made: [capture(n, fields) for n, fields in enumerate(made)])


def globs(path: str) -> st.SearchStrategy[str]:
    """Patterns that `path` may match: a stretch of it as `*`, or characters as `?`, `*`, `[c]`, `[!c]`."""
    starred = cut(path).map(lambda parts: f"{parts[0]}*{parts[2]}")
    cases = [
        st.sampled_from([c, c, c, "?", "*", f"[{c}]", f"[!{c}]"] if c.isascii() else [c, "?", "?", "*"]) for c in path
    ]
    return starred | st.tuples(*cases).map("".join)


def filters(made: list[Capture], pieces: Pieces, field: str) -> st.SearchStrategy[Filter]:
    """Filters on `field` (or on any fields), whose values are often taken from the captures."""
    haystacks = [
        h
        for c in made
        for h in (
            c.path,
            c.query_string,
            *(f"{n}: {v}" for n, v in c.headers),
            c.body.decode("utf-8", "surrogateescape"),
        )
    ]
    fields = {
        "method": pieces.text(3) | st.sampled_from([c.method for c in made]).flatmap(variants),
        "path": pieces.text(4).map("/".__add__) | st.sampled_from([c.path for c in made]).flatmap(globs),
        "text": pieces.text(3) | st.sampled_from(haystacks).flatmap(cut).map(lambda p: p[1]).flatmap(variants),
        "status": st.sampled_from(["200", "2xx", "5xx", "503", "4xx"]),
        "since": st.integers(0, 9).map(lambda s: BASE_TIME + timedelta(seconds=s)),
        "before": st.integers(0, 9).map(lambda s: BASE_TIME + timedelta(seconds=s)),
        "delivery_key": st.sampled_from(["d1", "d2", "ä"]),
        "signature": st.sampled_from(["valid", "invalid", "none", "INVALID"]),
        "run": st.sampled_from([1, 2, 3]),
    }
    if field == "any":
        return st.fixed_dictionaries({}, optional=fields).map(lambda chosen: Filter(**chosen))
    return fields[field].map(lambda value: Filter(**{field: value}))


# Text, path and method each get examples of their own: they are where SQL and Python differ.
@pytest.mark.parametrize("field", ["text", "path", "method", "any"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_store_and_the_live_predicate_agree(field, data):
    pieces = Pieces(
        data.draw(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=2, unique=True))
        + data.draw(st.lists(st.sampled_from(PLAIN), max_size=3, unique=True))
    )
    made = data.draw(captures(pieces))
    flt = data.draw(filters(made, pieces, field))
    with open_store(":memory:") as store:
        store.submit_many(made, lambda error: None)
        store.flush()
        accepted = sorted((c.id for c in made if capture_matches(c, flt)), reverse=True)
        assert store.count(flt) == len(accepted)
        assert [c.id for c in store.list_captures(limit=len(made) + 1, flt=flt)] == accepted


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "captures.db") as opened:
        yield opened


def shown(store, flt: Filter, made: list[Capture]) -> tuple[list[str], list[str]]:
    """The paths the store lists for `flt`, and those the live predicate lets through."""
    stored = [c.path for c in store.list_captures(flt=flt)]
    live = [c.path for c in reversed(made) if capture_matches(c, flt)]
    return stored, live


def test_a_header_line_is_found_in_the_store_as_live(store):
    made = [
        tcapture(seq=1, path="/json", headers=(("Content-Type", "application/json"),)),
        tcapture(seq=2, path="/form", headers=(("Content-Type", "application/x-www-form-urlencoded"),)),
    ]
    store.submit_many(made, lambda error: None)
    store.flush()
    assert shown(store, parse_filter("content-type: application/json"), made) == (["/json"], ["/json"])
    assert shown(store, Filter(text="type: application/x-www-form"), made) == (["/form"], ["/form"])


def test_a_negated_glob_class_means_the_same_in_the_store_as_live(store):
    made = [tcapture(seq=1, path="/x/apple"), tcapture(seq=2, path="/x/banana"), tcapture(seq=3, path="/x/!bang")]
    store.submit_many(made, lambda error: None)
    store.flush()
    assert shown(store, parse_filter("path:/x/[!a]*"), made) == (["/x/!bang", "/x/banana"], ["/x/!bang", "/x/banana"])


def test_text_search_ignores_case_beyond_ascii_in_the_store_as_live(store):
    made = [
        tcapture(seq=1, path="/bakery", body="Un éclair au café".encode()),
        tcapture(seq=2, path="/caf\u00c9", body=b"{}"),
        tcapture(seq=3, path="/plain", body=b"eclair without accent"),
    ]
    store.submit_many(made, lambda error: None)
    store.flush()
    assert shown(store, parse_filter("ÉCLAIR"), made) == (["/bakery"], ["/bakery"])
    assert shown(store, Filter(text="café"), made) == (["/cafÉ", "/bakery"], ["/cafÉ", "/bakery"])


# Where SQL and Python read text differently; each case is decided the same way by both.
TRAPS = [
    ({"path": "/\u017f"}, Filter(text="S"), False),  # ſ folds to s, but matches only itself
    ({"body": "Straße".encode()}, Filter(text="STRASSE"), False),
    ({"body": "Straße".encode()}, Filter(text="STRAßE"), True),
    ({"headers": (("X", "\u212a"),)}, Filter(text="x: k"), False),  # the Kelvin sign
    ({"path": "/ΟΔΟΣ"}, Filter(text="οδος"), True),  # final sigma
    ({"path": "/a\x00b"}, Filter(path="*b"), True),  # SQLite's GLOB stops at NUL
    ({"path": "/caf\udce9\udc80"}, Filter(path="/caf??"), True),  # two bytes that are not UTF-8
    ({"path": "/caf\udce9\udc80"}, Filter(path="/caf?"), False),
    ({"headers": (("a", "b"),)}, Filter(text="A: B"), True),
    ({"headers": (("a\\b", "x"),)}, Filter(text="a\\b"), True),  # JSON writes a backslash as two
    ({"method": "É"}, Filter(method="é"), True),
    ({"body": b"\x00ABC\xff"}, Filter(text="abc"), True),
]


@pytest.mark.parametrize(("fields", "flt", "expected"), TRAPS)
def test_text_read_differently_by_sqlite_gets_the_same_answer(store, fields, flt, expected):
    capture = tcapture(seq=1, **{"path": "/", "headers": (), "body": b"", **fields})
    store.add(capture)
    assert (store.count(flt), capture_matches(capture, flt)) == (int(expected), expected)


def test_a_bad_status_is_one_error_in_both_forms(store):
    with pytest.raises(StoreError, match="bad status filter"):
        parse_filter("status:five")
    with pytest.raises(StoreError, match="bad status filter"):
        capture_matches(tcapture(), Filter(status="five"))
    with pytest.raises(StoreError, match="bad status filter"):
        store.count(Filter(status="five"))


def test_filter_text_that_is_not_utf8_finds_the_same_bytes(store):
    # `ls --grep` with a byte that is not UTF-8 arrives as a surrogate escape, like the path.
    made = [tcapture(seq=1, path="/caf\udce9"), tcapture(seq=2, path="/cafe")]
    store.submit_many(made, lambda error: None)
    store.flush()
    assert shown(store, Filter(text="\udce9"), made) == (["/caf\udce9"], ["/caf\udce9"])
    assert shown(store, Filter(path="/caf\udce9"), made) == (["/caf\udce9"], ["/caf\udce9"])


def test_folding_outside_the_basic_plane_never_makes_ascii():
    # fold() scans only the Basic Multilingual Plane for characters whose folding adds ASCII.
    for code in range(0x10000, sys.maxunicode + 1):
        folded = chr(code).casefold()
        assert folded == chr(code) or not any(c.isascii() for c in folded), hex(code)
    assert fold("STRASSE ÉCLAIR") == "strasse éclair"
    assert fold("Straße") == "straße" and fold("\u212a") == "\u212a"


def test_sig_filters_split_captures_by_their_verdict_in_the_store_as_live(store):
    made = [tcapture(seq=n, path=f"/{n}", signature=verdict) for n, verdict in enumerate(VERDICTS)]
    store.submit_many(made, lambda error: None)
    store.flush()
    assert shown(store, parse_filter("sig:invalid"), made) == (["/3", "/2"], ["/3", "/2"])
    assert shown(store, parse_filter("sig:Valid"), made) == (["/1"], ["/1"])
    assert shown(store, parse_filter("sig:none"), made) == (["/0"], ["/0"])
    assert shown(store, parse_filter("sig:invalid path:/3"), made) == (["/3"], ["/3"])
    # The verdict survives the round trip through the store, reason and all.
    assert [c.signature for c in store.list_oldest_first()] == VERDICTS


def test_a_bad_sig_word_is_one_error_in_both_forms(store):
    with pytest.raises(StoreError, match=r"bad signature filter .*: use sig:valid, sig:invalid or sig:none"):
        parse_filter("sig:maybe")
    with pytest.raises(StoreError, match="bad signature filter"):
        capture_matches(tcapture(), Filter(signature="maybe"))
    with pytest.raises(StoreError, match="bad signature filter"):
        store.count(Filter(signature="maybe"))


def test_run_is_a_filter_word_and_a_bad_run_is_one_error(store):
    made = [tcapture(seq=1, path="/old", run=1), tcapture(seq=2, path="/new", run=2), tcapture(seq=3, path="/pre")]
    store.submit_many(made, lambda error: None)
    store.flush()
    assert shown(store, parse_filter("run:2"), made) == (["/new"], ["/new"])
    assert parse_filter("run:1 path:/o*") == Filter(path="/o*", run=1)
    for word in ("run:x", "run:0", "run:-1", "run:\u0662"):
        with pytest.raises(StoreError, match="bad run"):
            parse_filter(word)
