"""hookbin.samples: the packaged Segmanta samples are the ones the examples show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hookbin.samples import SAMPLES, sample_bytes
from hookbin.segmanta import summarize

ROOT = Path(__file__).resolve().parent.parent


def test_examples_are_byte_identical_to_packaged_samples():
    for kind in SAMPLES:
        packaged = (ROOT / "hookbin" / "samples" / SAMPLES[kind]).read_bytes()
        assert (ROOT / "examples" / "segmanta" / f"{kind}.json").read_bytes() == packaged
        assert sample_bytes(kind) == packaged
        assert summarize(json.loads(packaged)).event_guess == kind


def test_an_unknown_kind_is_a_key_error():
    with pytest.raises(KeyError):
        sample_bytes("order")
