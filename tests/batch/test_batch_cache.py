"""Content hashes, case keys, the per-case cache and atomic writes."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from neurorad.batch import cache


def test_case_key_changes_with_every_input():
    base = cache.case_key("a" * 64, "b" * 64, 1, "s1")
    assert base == cache.case_key("a" * 64, "b" * 64, 1, "s1")
    variants = [cache.case_key("c" * 64, "b" * 64, 1, "s1"), cache.case_key("a" * 64, "c" * 64, 1, "s1"),
                cache.case_key("a" * 64, "b" * 64, 2, "s1"), cache.case_key("a" * 64, "b" * 64, 1, "s2")]
    assert len({base, *variants}) == 5


def test_hash_memo_reuses_unchanged_files_and_rehashes_changed(tmp_path, monkeypatch):
    f = tmp_path / "img.nii"
    f.write_bytes(b"voxels-1")
    calls = []
    real = cache.file_sha256
    monkeypatch.setattr(cache, "file_sha256", lambda p: calls.append(p) or real(p))

    memo = cache.HashMemo(tmp_path / "memo.json")
    assert memo.sha256(f) == hashlib.sha256(b"voxels-1").hexdigest()
    memo.save()
    again = cache.HashMemo(tmp_path / "memo.json")  # a later run reads the memo
    assert again.sha256(f) == hashlib.sha256(b"voxels-1").hexdigest()
    assert len(calls) == 1

    f.write_bytes(b"voxels-22")  # new size: the memo entry is stale
    assert again.sha256(f) == hashlib.sha256(b"voxels-22").hexdigest()
    assert len(calls) == 2
    with pytest.raises(FileNotFoundError):
        again.sha256(tmp_path / "absent.nii")


def test_hash_memo_survives_a_corrupt_memo_file(tmp_path):
    (tmp_path / "memo.json").write_text("{not json")
    f = tmp_path / "x"
    f.write_bytes(b"x")
    assert cache.HashMemo(tmp_path / "memo.json").sha256(f) == hashlib.sha256(b"x").hexdigest()


def test_case_cache_round_trip_is_exact(tmp_path):
    cc = cache.CaseCache(tmp_path / "c")
    values = {"a": 0.1 + 0.2, "b": np.nextafter(1.0, 2.0), "c": float("nan"), "d": -1e-300}
    assert not cc.has("k")
    cc.store("k", values)
    assert cc.has("k")
    back = cc.load("k")
    assert list(back["feature"]) == list(values)
    got = back["value"].to_numpy()
    want = np.array(list(values.values()))
    assert np.array_equal(got, want, equal_nan=True)  # bit-exact float64


def test_atomic_write_leaves_old_file_intact_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "features.parquet"
    cache.atomic_write_parquet(pd.DataFrame({"v": [1.0]}), target)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.atomic_write_parquet(pd.DataFrame({"v": [2.0, 3.0]}), target)
    monkeypatch.undo()
    assert pd.read_parquet(target)["v"].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["features.parquet"]  # no temp file left


def test_atomic_write_json(tmp_path):
    p = cache.atomic_write_json({"a": 1}, tmp_path / "sub" / "x.json")
    assert p.read_text(encoding="utf-8").strip().replace(" ", "").replace("\n", "") == '{"a":1}'
