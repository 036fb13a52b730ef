"""The synthetic Segmanta sample deliveries shipped in `hookbin/samples/`, by event kind.

They are built from Segmanta's documented structure, not captured from Segmanta; `hookbin
send` posts them and `examples/segmanta/` holds the same bytes for readers.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["SAMPLES", "sample_bytes"]

SAMPLES: dict[str, str] = {
    "question": "segmanta-question.json",
    "survey": "segmanta-survey.json",
}
"""File names of the samples in `hookbin/samples/`, by event kind."""


def sample_bytes(kind: str) -> bytes:
    """The bytes of the sample delivery for `kind` (`question` or `survey`); KeyError for another kind."""
    return resources.files("hookbin").joinpath("samples", SAMPLES[kind]).read_bytes()
