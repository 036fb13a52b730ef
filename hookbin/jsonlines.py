"""Readable text for any parsed JSON: `path = value` lines, and the short text of one value.

`generic_lines` shows a JSON body that no summary knows (`a.b[0].c = "text"`); `scalar_text`,
`compact` and `quote` are the value texts it shares with the Segmanta summary.

The values are what `json.loads` makes: dicts with str keys, lists, str, int, float
(NaN and infinities included), bool and None. Its integers have at most the digits
Python may print, so every value has a text. Everything returned is display text built
from untrusted input; callers pass it through `hookbin.textsafe`. Standard library only.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["compact", "generic_lines", "quote", "scalar_text"]

_DEPTH = 6  # levels that compact() opens before it writes {…} or […]


def quote(text: str) -> str:
    """`text` as a JSON string literal, non-ASCII kept as it is."""
    return json.dumps(text, ensure_ascii=False)


def scalar_text(value: Any) -> str:
    """A value as JSON writes it, except that strings stay unquoted; objects and lists as `compact`."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return compact(value)


def compact(value: Any, limit: int = 200, depth: int = _DEPTH) -> str:
    """Compact JSON text of `value`, at most `limit` characters (then `…`), `depth` levels opened."""
    out: list[str] = []
    budget = [limit]

    def put(text: str) -> bool:
        out.append(text)
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(node: Any, level: int) -> bool:
        if isinstance(node, dict):
            if level > depth:
                return put("{…}")
            if not put("{"):
                return False
            for index, (key, child) in enumerate(node.items()):
                if index and not put(", "):
                    return False
                if not put(quote(key) + ": ") or not walk(child, level + 1):
                    return False
            return put("}")
        if isinstance(node, list):
            if level > depth:
                return put("[…]")
            if not put("["):
                return False
            for index, child in enumerate(node):
                if index and not put(", "):
                    return False
                if not walk(child, level + 1):
                    return False
            return put("]")
        if isinstance(node, str):
            return put(quote(node[: limit + 1]))
        return put(scalar_text(node))

    complete = walk(value, 0)
    text = "".join(out)
    if not complete or len(text) > limit:
        text = text[:limit] + "…"
    return text


def _key_segment(key: str) -> str:
    if key.isidentifier():
        return "." + (key if len(key) <= 60 else key[:60] + "…")
    return f"[{quote(key if len(key) <= 60 else key[:60] + '…')}]"


def _join_path(prefix: str, segment: str) -> str:
    path = prefix + segment
    if len(path) > 160:  # keep the start and the end of very deep paths
        path = path[:50] + "…" + path[-100:]
    return path


def _leaf_text(value: Any, max_value: int) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    text = quote(value[: max_value + 1]) if isinstance(value, str) else scalar_text(value)
    if len(text) > max_value:
        text = text[:max_value] + "…"
    return text.replace("\r", "\\r").replace("\n", "\\n")


def generic_lines(document: Any, *, max_lines: int = 200, max_value: int = 120) -> list[str]:
    """A compact `path = value` view of any JSON value (`a.b[0].c = "text"`), depth first.

    Strings are shown JSON-quoted, empty objects and lists as `{}` and `[]`. Values are cut
    at `max_value` characters; after `max_lines` lines one more says how many were left out.
    Works iteratively, so any nesting depth is fine.
    """
    max_lines = max(1, max_lines)
    lines: list[str] = []
    hidden = 0
    # Each stack entry: (path shown so far, value), in reverse so pops go in document order.
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        children: list[tuple[str, Any]] = []
        full = len(lines) >= max_lines  # past the limit: only count leaves, build no paths
        if isinstance(value, dict) and value:
            if full:
                children = [("", child) for child in value.values()]
            else:
                children = [(_join_path(path, _key_segment(k)), v) for k, v in value.items()]
        elif isinstance(value, list) and value:
            if full:
                children = [("", child) for child in value]
            else:
                children = [(_join_path(path, f"[{i}]"), v) for i, v in enumerate(value)]
        if children:
            stack.extend(reversed(children))
            continue
        if full:
            hidden += 1
            continue
        shown = path[1:] if path.startswith(".") else path
        lines.append(f"{shown or '(document)'} = {_leaf_text(value, max_value)}")
    if hidden:
        lines.append(f"… {hidden} more {'value' if hidden == 1 else 'values'} not shown")
    return lines
