"""Reruns after damage or interruption (issue 14): an unreadable cache entry is set aside
and recomputed (finding 9)."""
from __future__ import annotations

import logging

import pandas as pd
import pytest

from neurorad.batch import extract_manifest
from neurorad.batch.cache import UNREADABLE_DIRNAME

from batch_helpers import make_cohort, roi_stats_extractor


@pytest.fixture
def cohort(tmp_path):
    return make_cohort(tmp_path / "data", n_subjects=2)


def _run(manifest, out):
    return extract_manifest(manifest, "ibsi-phantom", out, scheduler="synchronous",
                            progress=False, extractor=roi_stats_extractor, device="cpu")


def test_unreadable_cache_entries_are_set_aside_and_recomputed(cohort, tmp_path, caplog):
    out = tmp_path / "out"
    first = _run(cohort.manifest, out)
    entries = sorted((out / "cache").glob("*.parquet"))
    assert len(entries) == first.n_cases == 8
    entries[0].write_bytes(b"")                              # zero bytes (full disk)
    entries[1].write_bytes(entries[1].read_bytes()[:-20])    # truncated
    pd.DataFrame({"x": [1]}).to_parquet(entries[2])          # another table
    with caplog.at_level(logging.WARNING, logger="neurorad.batch"):
        second = _run(cohort.manifest, out)
    assert (second.n_cached, second.n_computed, second.n_failed) == (5, 3, 0)
    for entry in entries[:3]:
        assert (out / "cache" / UNREADABLE_DIRNAME / entry.name).is_file()
        assert entry.is_file()  # recomputed and stored again
        assert any(entry.name in r.getMessage() and "recomputed" in r.getMessage()
                   for r in caplog.records)
    pd.testing.assert_frame_equal(
        first.features.sort_values(["subject", "roi", "image", "feature"]).reset_index(drop=True),
        second.features.sort_values(["subject", "roi", "image", "feature"]).reset_index(drop=True))
