"""Segmanta webhook deliveries: recognise them and summarise them as readable survey answers.

Segmanta posts JSON shaped `{custom_params, results: [question pages], survey_id, survey_name}`
(see `examples/segmanta/README.md`). Real deliveries are treated loosely: any field may be
missing, null or of another type, unknown fields and page types appear. Nothing here raises
for any value `json.loads` makes; odd shapes give generic fallbacks and a warning instead.

Nothing that arrived is hidden. Every `results[]` item is shown at its position (page N is
`results[N-1]`, also when it is not an object), and every field the summary does not
understand, an unknown key or a known key holding a list or object where a single value
belongs, is kept as it arrived and shown as `key: value` under its answer, question, page or
the survey, after a line `unrecognised fields: …`. The summary text leaves out only the
bookkeeping it understands: ids, `created`/`updated`, `has_variants`, an item's `id`/`tag`
beside its name, and a known page type (shown by its label); `SegmantaSummary.to_dict()`
carries the ids, times and raw type.

`model` holds the dataclasses, `reading` builds them from parsed JSON, `text` renders them.
Everything returned is display text built from untrusted input. It is *not* made safe for a
terminal here: callers pass it through `hookbin.textsafe` like any other sender text.

Standard library only.
"""

from __future__ import annotations

from hookbin.segmanta.model import AnswerSummary, PageSummary, QuestionSummary, SegmantaSummary
from hookbin.segmanta.reading import TYPE_LABELS, looks_like_segmanta, summarize, survey_label, survey_name_of
from hookbin.segmanta.text import FLAG, summary_lines, summary_rows

__all__ = [
    "FLAG",
    "TYPE_LABELS",
    "AnswerSummary",
    "PageSummary",
    "QuestionSummary",
    "SegmantaSummary",
    "looks_like_segmanta",
    "summarize",
    "summary_lines",
    "summary_rows",
    "survey_label",
    "survey_name_of",
]
