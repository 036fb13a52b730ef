"""A JSON schema of HAR 1.2, written from the field list of the spec (Jan Odvarko, "HAR 1.2 Spec").

Every object lists its fields; required ones are those the spec does not mark optional. Custom
fields must start with `_` (the spec's rule), so `additionalProperties` is false elsewhere. The
one field outside the spec is `postData.encoding`: HAR 1.2 has `encoding` only for response
content, and hookbin uses the same field for a binary request body (the spec gives no other way
to carry one without loss).
"""

from __future__ import annotations

from typing import Any


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = {**required, **(optional or {}), "comment": {"type": "string"}}
    return {
        "type": "object",
        "required": list(required),
        "properties": properties,
        "patternProperties": {"^_": {}},
        "additionalProperties": False,
    }


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
# ISO 8601 with a time zone, as the spec's examples: 2009-07-24T19:20:30.45+01:00
DATE_TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$"}
OPTIONAL_TIMING = {"type": "number", "minimum": -1}
TIMING = {"type": "number", "minimum": 0}

NAME_VALUE = _object({"name": STRING, "value": STRING})
COOKIE = _object(
    {"name": STRING, "value": STRING},
    {
        "path": STRING,
        "domain": STRING,
        "expires": DATE_TIME,
        "httpOnly": {"type": "boolean"},
        "secure": {"type": "boolean"},
    },
)
PARAM = _object({"name": STRING}, {"value": STRING, "fileName": STRING, "contentType": STRING})
POST_DATA = {
    **_object({"mimeType": STRING}, {"params": {"type": "array", "items": PARAM}, "text": STRING, "encoding": STRING}),
    "anyOf": [{"required": ["text"]}, {"required": ["params"]}],
}
CONTENT = _object({"size": INTEGER, "mimeType": STRING}, {"compression": INTEGER, "text": STRING, "encoding": STRING})
CACHE_ENTRY = _object({"lastAccess": DATE_TIME, "eTag": STRING, "hitCount": INTEGER}, {"expires": DATE_TIME})
REQUEST = _object(
    {
        "method": STRING,
        "url": {"type": "string", "pattern": "^https?://[!-~]+$"},  # absolute, printable ASCII
        "httpVersion": STRING,
        "cookies": {"type": "array", "items": COOKIE},
        "headers": {"type": "array", "items": NAME_VALUE},
        "queryString": {"type": "array", "items": NAME_VALUE},
        "headersSize": INTEGER,
        "bodySize": INTEGER,
    },
    {"postData": POST_DATA},
)
RESPONSE = _object(
    {
        "status": INTEGER,
        "statusText": STRING,
        "httpVersion": STRING,
        "cookies": {"type": "array", "items": COOKIE},
        "headers": {"type": "array", "items": NAME_VALUE},
        "content": CONTENT,
        "redirectURL": STRING,
        "headersSize": INTEGER,
        "bodySize": INTEGER,
    }
)
TIMINGS = _object(
    {"send": TIMING, "wait": TIMING, "receive": TIMING},
    {"blocked": OPTIONAL_TIMING, "dns": OPTIONAL_TIMING, "connect": OPTIONAL_TIMING, "ssl": OPTIONAL_TIMING},
)
ENTRY = _object(
    {
        "startedDateTime": DATE_TIME,
        "time": {"type": "number", "minimum": 0},
        "request": REQUEST,
        "response": RESPONSE,
        "cache": _object(
            {},
            {
                "beforeRequest": {"oneOf": [{"type": "null"}, CACHE_ENTRY]},
                "afterRequest": {"oneOf": [{"type": "null"}, CACHE_ENTRY]},
            },
        ),
        "timings": TIMINGS,
    },
    {"pageref": STRING, "serverIPAddress": STRING, "connection": STRING},
)
CREATOR = _object({"name": STRING, "version": STRING})
PAGE = _object(
    {
        "startedDateTime": DATE_TIME,
        "id": STRING,
        "title": STRING,
        "pageTimings": _object({}, {"onContentLoad": NUMBER, "onLoad": NUMBER}),
    }
)
HAR_1_2 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **_object(
        {
            "log": _object(
                {"version": {"const": "1.2"}, "creator": CREATOR, "entries": {"type": "array", "items": ENTRY}},
                {"browser": CREATOR, "pages": {"type": "array", "items": PAGE}},
            )
        }
    ),
}
"""The schema of a whole HAR 1.2 document."""
