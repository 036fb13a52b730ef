"""Tests for hookbin.bodies: what a user sees when looking at a captured body."""

import gzip
import json
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookbin.bodies import (
    JSON_SNIFF_LIMIT,
    MAX_DECODED_SIZE,
    SHOWN_CHARS,
    cut_note,
    decode_body,
    media_type,
    sniff_json,
)

_FORM = "application/x-www-form-urlencoded"


def ctype(value: str, *more: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", value), *more)


def multipart(boundary: str) -> tuple[tuple[str, str], ...]:
    return ctype(f"multipart/form-data; boundary={boundary}")


PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\r\n"

UPLOAD = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="title"\r\n'
    b"\r\n"
    b"Hello, world\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="avatar"; filename="me.png"\r\n'
    b"Content-Type: image/png\r\n"
    b"\r\n" + PNG_BYTES + b"\r\n"
    b"--XyZ--\r\n"
)


# --- JSON ------------------------------------------------------------------------------


def test_json_is_pretty_printed_in_original_key_order():
    view = decode_body(b'{"zeta":1,"alpha":[true,null],"name":"caf\xc3\xa9"}', ctype("application/json; charset=utf-8"))
    assert view.kind == "json"
    assert view.json == {"zeta": 1, "alpha": [True, None], "name": "café"}
    assert view.pretty == ('{\n  "zeta": 1,\n  "alpha": [\n    true,\n    null\n  ],\n  "name": "café"\n}')
    assert view.summary == "JSON object, 3 keys, 45 bytes"


def test_vendor_json_types_are_json():
    for mtype in ("application/vnd.github+json", "text/json", "application/problem+json"):
        assert decode_body(b"[1, 2]", ctype(mtype)).kind == "json"


def test_invalid_json_reports_message_line_and_column():
    view = decode_body(b'{\n  "a": 1,\n  "b" 2\n}', ctype("application/json"))
    assert view.kind == "invalid_json"
    assert view.json_error == "Expecting ':' delimiter: line 3 column 7 (char 18)"
    assert (view.json_error_line, view.json_error_col, view.json_error_pos) == (3, 7, 18)
    assert view.pretty == '{\n  "a": 1,\n  "b" 2\n}'


def test_truncated_invalid_json_says_so():
    view = decode_body(b'{"a": [1, 2', ctype("application/json"), truncated=True)
    assert view.kind == "invalid_json"
    assert "truncated" in view.json_error
    assert view.truncated


def test_json_without_content_type_is_sniffed():
    view = decode_body(b'  \n{"event": "ping"}', ())
    assert view.kind == "json"
    assert view.json == {"event": "ping"}


def test_text_plain_json_is_sniffed_but_broken_json_stays_text():
    assert decode_body(b"[1, 2, 3]", ctype("text/plain")).kind == "json"
    assert decode_body(b"[1, 2, oops", ctype("text/plain")).kind == "text"


def test_deeply_nested_json_is_invalid_not_a_crash():
    view = decode_body(b"[" * 100_000, ctype("application/json"))
    assert view.kind == "invalid_json"
    assert "nested too deeply" in view.json_error
    assert decode_body(b"[" * 100_000, ()).kind == "text"


def test_json_in_declared_latin1_and_with_utf8_bom():
    latin = decode_body(b'{"city": "M\xfcnchen"}', ctype("application/json; charset=latin-1"))
    assert latin.json == {"city": "München"}
    bom = decode_body(b'\xef\xbb\xbf{"ok": true}', ctype("application/json"))
    assert bom.json == {"ok": True}
    assert decode_body(b'\xef\xbb\xbf{"ok": true}', ()).json == {"ok": True}


def test_nan_and_huge_integers_do_not_crash():
    assert decode_body(b"[NaN, Infinity]", ctype("application/json")).kind == "json"
    huge = decode_body(b"1" * 5000, ctype("application/json"))
    assert huge.kind == "invalid_json"
    assert huge.json_error


# --- forms -----------------------------------------------------------------------------


def test_form_keeps_duplicates_blanks_and_order():
    view = decode_body(b"b=2&a=1&b=3&empty=&name=caf%C3%A9+au+lait", ctype("application/x-www-form-urlencoded"))
    assert view.kind == "form"
    assert view.form == (("b", "2"), ("a", "1"), ("b", "3"), ("empty", ""), ("name", "café au lait"))
    assert view.summary == "form, 5 fields, 41 bytes"


def test_form_in_declared_latin1():
    view = decode_body(b"q=caf%E9", ctype("application/x-www-form-urlencoded; charset=iso-8859-1"))
    assert view.form == (("q", "café"),)


# --- multipart -------------------------------------------------------------------------


def test_multipart_text_field_and_binary_file():
    view = decode_body(UPLOAD, multipart("XyZ"))
    assert view.kind == "multipart"
    assert view.multipart_error is None
    title, avatar = view.parts
    assert (title.name, title.filename, title.text) == ("title", None, "Hello, world")
    assert (avatar.name, avatar.filename, avatar.content_type) == ("avatar", "me.png", "image/png")
    assert avatar.size == len(PNG_BYTES)
    assert avatar.text is None
    assert view.summary.startswith("multipart, 2 parts")


def test_multipart_quoted_boundary():
    body = UPLOAD.replace(b"XyZ", b"a:b c")
    view = decode_body(body, ctype('multipart/form-data; boundary="a:b c"'))
    assert [p.name for p in view.parts] == ["title", "avatar"]


def test_multipart_with_bare_lf_line_endings():
    body = UPLOAD.replace(PNG_BYTES, b"PNG").replace(b"\r\n", b"\n")
    view = decode_body(body, multipart("XyZ"))
    assert [p.name for p in view.parts] == ["title", "avatar"]
    assert view.parts[0].text == "Hello, world"
    assert view.parts[1].size == 3


def test_multipart_preamble_epilogue_and_part_without_name():
    body = (
        b"This is the preamble.\r\n--b\r\n\r\nanonymous\r\n"
        b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\nepilogue'
    )
    view = decode_body(body, multipart("b"))
    assert [(p.name, p.text) for p in view.parts] == [(None, "anonymous"), ("x", "1")]


def test_multipart_missing_closing_boundary_keeps_what_is_there():
    body = UPLOAD.split(b"--XyZ--")[0]
    view = decode_body(body, multipart("XyZ"))
    assert view.kind == "multipart"
    assert [p.name for p in view.parts] == ["title", "avatar"]
    assert view.parts[1].size == len(PNG_BYTES)
    assert "closing boundary" in view.multipart_error


def test_multipart_without_usable_boundary_falls_back_to_text():
    no_param = decode_body(b"just some text", ctype("multipart/form-data"))
    assert (no_param.kind, no_param.text) == ("text", "just some text")
    assert "boundary" in no_param.multipart_error
    wrong = decode_body(UPLOAD, multipart("other"))
    assert wrong.kind == "binary"  # the PNG bytes make the raw body binary
    assert wrong.multipart_error == "no parts found for boundary 'other'"


def test_multipart_extended_filename():
    body = b"--q\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''na%C3%AFve.txt\r\n\r\nx\r\n--q--\r\n"
    assert decode_body(body, multipart("q")).parts[0].filename == "naïve.txt"


# --- text and binary -------------------------------------------------------------------


def test_latin1_text_with_declared_charset():
    view = decode_body(b"caf\xe9", ctype("text/plain; charset=iso-8859-1"))
    assert (view.kind, view.text, view.charset_error) == ("text", "café", None)
    assert view.charset == "iso-8859-1"


def test_invalid_utf8_is_replaced_and_reported():
    view = decode_body(b"ok \xff\xfe then", ctype("text/plain; charset=utf-8"))
    assert view.text == "ok \ufffd\ufffd then"
    assert view.charset_error == "invalid utf-8 at byte 3 (0xff); replaced with U+FFFD"


def test_unknown_charset_falls_back_to_utf8_with_a_note():
    view = decode_body("café".encode(), ctype("text/plain; charset=klingon"))
    assert view.text == "café"
    assert "unknown charset 'klingon'" in view.charset_error


def test_undeclared_utf8_is_text():
    view = decode_body("héllo\nworld\n".encode(), ())
    assert (view.kind, view.text) == ("text", "héllo\nworld\n")


def test_xml_is_text():
    assert decode_body(b"<a>1</a>", ctype("application/xml")).kind == "text"


def test_binary_shows_a_hexdump():
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(i % 256 for i in range(600))
    view = decode_body(data, ctype("image/png"))
    assert view.kind == "binary"
    lines = view.hex_preview.splitlines()
    assert lines[0] == ("00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|")
    assert len(lines) == 512 // 16 + 1  # 32 rows plus a "more bytes" line
    assert view.summary == "binary, 616 bytes"


def test_short_binary_last_hexdump_line_is_padded():
    view = decode_body(b"\x00\x01hello", ())
    assert view.hex_preview == ("00000000  00 01 68 65 6c 6c 6f" + " " * 30 + "|..hello|")


def test_empty_body_is_empty_whatever_the_type():
    for headers in ((), ctype("application/json"), multipart("x")):
        view = decode_body(b"", headers)
        assert (view.kind, view.summary) == ("empty", "empty")


# --- content encoding ------------------------------------------------------------------

DOC = b'{"compressed": true}'


def test_gzip_body_is_decoded_to_json():
    body = gzip.compress(DOC)
    view = decode_body(body, ctype("application/json", ("Content-Encoding", "gzip")))
    assert view.kind == "json"
    assert view.json == {"compressed": True}
    assert (view.size, view.decoded_size, view.content_encoding) == (len(body), len(DOC), "gzip")
    assert view.encoding_error is None


def test_deflate_zlib_wrapped_and_raw_both_decode():
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = raw_deflate.compress(DOC) + raw_deflate.flush()
    for body in (zlib.compress(DOC), raw):
        view = decode_body(body, ctype("application/json", ("Content-Encoding", "deflate")))
        assert view.json == {"compressed": True}, body


def test_chained_encodings_are_undone_in_reverse():
    body = zlib.compress(gzip.compress(DOC))
    view = decode_body(body, (("Content-Encoding", "gzip, deflate"),))
    assert view.json == {"compressed": True}


def test_undecodable_gzip_shows_raw_body_with_error():
    view = decode_body(b"not gzip at all", (("Content-Encoding", "gzip"),))
    assert view.encoding_error == "gzip: not a gzipped file"
    assert (view.kind, view.text) == ("text", "not gzip at all")


def test_unsupported_encoding_shows_raw_body():
    view = decode_body(DOC, ctype("application/json", ("Content-Encoding", "br")))
    assert view.encoding_error == "br: not supported"
    assert view.json == {"compressed": True}


def test_truncated_gzip_shows_what_was_decoded():
    text = b"".join(b"line %d of text\n" % i for i in range(2000))
    body = gzip.compress(text)[:2000]
    view = decode_body(body, (("Content-Encoding", "gzip"),), truncated=True)
    assert view.kind == "text"
    assert "ends early" in view.encoding_error
    assert text.startswith(view.data)


def test_gzip_bomb_is_capped_and_the_rest_reported():
    bomb = gzip.compress(b"\0" * (MAX_DECODED_SIZE + 1024 * 1024))
    view = decode_body(bomb, (("Content-Encoding", "gzip"),))
    assert view.decoded_size == MAX_DECODED_SIZE
    assert view.encoding_cut
    assert view.encoding_error == "gzip: decoded 4 MiB of at least 5 MiB (gzip's own count); the rest was not decoded"
    assert view.kind == "binary"


def test_one_budget_covers_every_layer_and_every_gzip_member():
    # The bomb: 376 bytes that would be 128 MiB after two gzip layers.
    bomb = gzip.compress(gzip.compress(b"\0" * (128 * 2**20)))
    view = decode_body(bomb, ctype("application/json", ("Content-Encoding", "gzip, gzip")))
    assert view.decoded_size <= MAX_DECODED_SIZE
    assert view.encoding_error == (
        "gzip: decoded 3.9 MiB of at least 128 MiB (gzip's own count); the rest was not decoded"
    )  # the outer layer used the rest of the 4 MiB
    member = gzip.compress(b"a" * (MAX_DECODED_SIZE // 3))
    members = decode_body(member * 20, (("Content-Encoding", "gzip"),))
    assert members.decoded_size == MAX_DECODED_SIZE and members.encoding_cut
    assert members.kind == "text" and members.pretty_cut
    deflated = decode_body(zlib.compress(b"x" * (MAX_DECODED_SIZE + 1)), (("Content-Encoding", "deflate"),))
    assert deflated.encoding_cut
    assert deflated.encoding_error == "deflate: decoded the first 4 MiB; the rest was not decoded"


def test_a_smaller_budget_is_shared_by_the_layers():
    body = gzip.compress(gzip.compress(b"y" * 5000))
    view = decode_body(body, (("Content-Encoding", "gzip, gzip"),), budget=1000)
    assert view.encoding_cut and view.decoded_size <= 1000
    assert decode_body(body, (("Content-Encoding", "gzip, gzip"),), budget=6000).text == "y" * 5000


def test_a_body_that_decodes_to_exactly_the_budget_is_not_cut():
    view = decode_body(gzip.compress(b"z" * 4096), (("Content-Encoding", "gzip"),), budget=4096)
    assert (view.encoding_cut, view.encoding_error, view.text) == (False, None, "z" * 4096)
    two = decode_body(gzip.compress(b"z" * 4096) * 2, (("Content-Encoding", "gzip"),), budget=4096)
    assert two.encoding_cut


def test_unknown_coding_after_a_known_one_is_not_decoded():
    view = decode_body(gzip.compress(b"hello"), (("Content-Encoding", "gzip, zstd"),))
    assert view.encoding_error == "zstd: not supported"
    assert view.kind == "binary" and view.decoded_size == view.size


# --- what a view is given to show --------------------------------------------------------


def test_long_text_is_cut_before_it_is_shown_and_the_rest_counted():
    body = "é".encode() * SHOWN_CHARS  # two bytes a character: the cut falls in the middle of one
    view = decode_body(body, ctype("text/plain"))
    assert view.text == "é" * SHOWN_CHARS
    assert view.pretty == "é" * (SHOWN_CHARS // 2) and view.pretty_cut
    assert view.more_bytes == len(body) - SHOWN_CHARS
    assert cut_note(view) == f"{view.more_bytes:,} more bytes not shown"
    short = decode_body(b"short", ctype("text/plain"))
    assert (short.pretty, short.pretty_cut, cut_note(short)) == ("short", False, None)


def test_long_json_is_indented_only_up_to_what_is_shown():
    body = json.dumps([{"n": n} for n in range(100_000)]).encode()
    view = decode_body(body, ctype("application/json"))
    assert view.kind == "json" and len(view.json) == 100_000
    assert len(view.pretty) == SHOWN_CHARS and view.pretty_cut
    assert view.pretty.startswith('[\n  {\n    "n": 0\n  },')
    assert "indented JSON goes on" in cut_note(view)


def test_invalid_json_cut_by_the_decoding_budget_says_so():
    body = gzip.compress(b'{"a": "' + b"x" * 5000)
    view = decode_body(body, ctype("application/json", ("Content-Encoding", "gzip")), budget=1000)
    assert view.kind == "invalid_json"
    assert view.json_error.endswith("(decoding stopped after 1,000 bytes)")


# --- hostile charsets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "charset",
    [
        "\udcff\udcfe",
        '"utf-\x00"',
        "utf-8\x00",
        "\x00",
        '"',
        "''",
        "\udcff",
        "base64",
        "undefined",
        "x" * 10_000,
        "utf-8'; x",
    ],
)
@pytest.mark.parametrize("mtype", ["text/plain", "application/json", _FORM, "multipart/form-data"])
def test_any_charset_parameter_yields_a_view(charset, mtype):
    # `charset=\xff` used to raise UnboundLocalError, killing the TUI on every start.
    for body in (b"hi", b"{}", b"a=1", b"\xff\xfe\x00"):
        view = decode_body(body, ctype(f"{mtype}; charset={charset}; boundary=b"))
        assert view.summary


def test_unknown_charset_is_named_in_the_note():
    view = decode_body(b"hi", ctype("text/plain; charset=\udcff"))
    assert (view.kind, view.text) == ("text", "hi")
    assert view.charset_error == "unknown charset '\\udcff'; decoded as UTF-8"


# --- the one JSON sniff ---------------------------------------------------------------------


def test_sniff_json_reads_json_like_the_body_view():
    assert sniff_json(b'{"id": "evt_1"}').value == {"id": "evt_1"}
    assert sniff_json(b'"just a string"').kind == "none"  # undeclared: objects and arrays only
    assert sniff_json(b'"s"', ctype("application/json")).value == "s"
    broken = sniff_json(b'{"a" 1}', ctype("application/json"))
    assert (broken.kind, broken.line, broken.col) == ("invalid_json", 1, 6)
    assert sniff_json(b"{oops", ctype("text/plain")).kind == "none"
    assert sniff_json(b"a=1", ctype(_FORM)).kind == "none"
    assert sniff_json(gzip.compress(b'{"id": 7}'), (("Content-Encoding", "gzip"),)).value == {"id": 7}


def test_sniff_json_reads_nothing_over_its_limit():
    big = json.dumps({"id": "x", "pad": "p" * JSON_SNIFF_LIMIT}).encode()
    assert sniff_json(big).kind == "none"
    assert sniff_json(big, limit=None).value["id"] == "x"
    bomb = gzip.compress(gzip.compress(b"\0" * (128 * 2**20)))
    assert sniff_json(bomb, ctype("application/json", ("Content-Encoding", "gzip, gzip"))).kind == "none"


# --- headers ---------------------------------------------------------------------------


def test_media_type_lowercases_and_unquotes():
    headers = (("content-type", 'Multipart/Form-Data; Boundary="a;b \\"c\\""; charset=UTF-8'),)
    assert media_type(headers) == ("multipart/form-data", {"boundary": 'a;b "c"', "charset": "UTF-8"})
    assert media_type(()) == ("", {})


# --- robustness ------------------------------------------------------------------------

INTERESTING_TYPES = [
    "",
    "application/json",
    "application/json; charset=utf-16",
    "text/plain; charset=nope",
    "text/plain; charset=base64",
    "text/plain; charset=idna",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-7",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    'multipart/form-data; boundary="',
    "multipart/mixed; boundary=a",
    'multipart/form-data; boundary="\\"',
    "image/png",
    "application/vnd.x+json",
    ';;;=;"',
]
INTERESTING_ENCODINGS = [
    "",
    "gzip",
    "x-gzip",
    "deflate",
    "identity",
    "br",
    "gzip, gzip",
    ",,",
    "deflate, identity, gzip",
]
INTERESTING_BODIES = [
    b"--a\r\n\r\n",
    b"--a",
    b"--a--",
    b'--a\nContent-Disposition: form-data; name="\xff\n\n\xff',
    b"[" * 5000,
    b'{"a": 1e999999}',
    gzip.compress(b"--a\r\n\r\nx"),
    zlib.compress(b"\xff" * 10),
    b"\xef\xbb\xbf",
    b"%ff=%zz&&=",
]


@settings(max_examples=400, deadline=None)
@given(
    body=st.one_of(st.binary(max_size=300), st.sampled_from(INTERESTING_BODIES)),
    content_type=st.one_of(st.sampled_from(INTERESTING_TYPES), st.text(max_size=60)),
    content_encoding=st.one_of(st.sampled_from(INTERESTING_ENCODINGS), st.text(max_size=20)),
    truncated=st.booleans(),
)
def test_decode_body_never_raises(body, content_type, content_encoding, truncated):
    headers = (("Content-Type", content_type), ("Content-Encoding", content_encoding))
    view = decode_body(body, headers, truncated=truncated)
    assert view.kind in {"empty", "json", "invalid_json", "form", "multipart", "text", "binary"}
    assert view.size == len(body)
    assert view.summary
