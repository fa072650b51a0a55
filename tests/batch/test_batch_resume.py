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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ctrl_c_ends_with_one_line_exit_3_and_no_lock_files(tmp_path):
    """Finding 11: SIGINT to the whole process group (what Ctrl-C in a terminal does) while
    the local cluster extracts."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from neurorad.errors import EXIT_INTERRUPTED

    cohort = make_cohort(tmp_path / "data", n_subjects=12)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "neurorad", "extract", str(cohort.manifest), "--settings",
               "seed-protocol", "--out", str(out), "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(list((out / "cache").glob("*.parquet"))) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    # Feature warnings of finished cases (logged naming subject, ROI and image) may precede it;
    # the interrupt itself is one line, the last, and nothing else mentions it.
    lines = [line for line in stderr.splitlines() if line.strip()]
    cached = len(list((out / "cache").glob("*.parquet")))
    assert lines[-1] == f"interrupted; {cached} cases cached; rerun to resume", stderr
    assert not [line for line in lines[:-1] if "nterrupt" in line], stderr
    assert "Traceback" not in stderr
    assert not [p for p in scratch.rglob("*") if "lock" in p.name], list(scratch.rglob("*"))
    resumed = extract_manifest(cohort.manifest, "seed-protocol", out, scheduler="synchronous",
                               progress=False)
    assert resumed.n_cached == cached and resumed.n_failed == 0
