"""Shared study steps: discretisation columns, model table, permutation, table export."""
from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from neurorad.io.tables import read_table_csv
from neurorad.studies.common import (StudyInputError, columns_for_discretisation,
                                     discretisation_of, discretisations_in, model_table,
                                     save_tables, study_settings, summarise_warnings)

COLUMNS = ["T1__morph_volume", "T1__cm_joint_max_3D_avg_fbn32", "T1__cm_joint_max_3D_avg_fbn8",
           "T2__ih_mean_ep8", "T2__stat_mean", "FA__cm_energy_3D_avg_fbs2p5",
           "T1__fractal_box_dim"]


def test_discretisation_of_reads_the_suffix():
    assert [discretisation_of(c) for c in COLUMNS] == [
        None, "fbn32", "fbn8", "ep8", None, "fbs2p5", None]


def test_columns_for_one_level_keep_level_free_features():
    assert columns_for_discretisation(COLUMNS, "fbn8") == [
        "T1__morph_volume", "T1__cm_joint_max_3D_avg_fbn8", "T2__stat_mean",
        "T1__fractal_box_dim"]
    assert discretisations_in(COLUMNS) == ["ep8", "fbn8", "fbn32", "fbs2p5"]


def test_discretisations_are_ordered_by_numeric_level_with_decimal_widths():
    columns = [f"T1__cm_energy_3D_avg_{level}" for level in
               ("fbn128", "fbsa2p5", "fbn16", "fbsa2", "fbsa25", "fbsa12p5", "ep8")]
    assert discretisations_in(columns) == ["ep8", "fbn16", "fbn128", "fbsa2", "fbsa2p5",
                                           "fbsa12p5", "fbsa25"]


def _wide():
    index = pd.MultiIndex.from_tuples(
        [("s1", "P1", "r1"), ("s1", "P1", "r2"), ("s2", "P2", "r1"), ("s3", "P3", "r1")],
        names=["subject", "group", "roi"])
    return pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "const": 5.0, "nan": np.nan,
                         "b": [0.0, np.nan, 1.0, 1.0]}, index=index)


def test_model_table_aligns_targets_and_drops_uninformative_columns():
    targets = pd.DataFrame({"group": ["P1", "P2", "P3"], "t": ["x", "y", "x"]},
                           index=pd.Index(["s1", "s2", "s3"], name="subject"))
    table = model_table(_wide(), targets)
    assert list(table.X.columns) == ["a", "b"]
    assert list(table.targets["t"]) == ["x", "x", "y", "x"]
    assert list(table.groups) == ["P1", "P1", "P2", "P3"]
    with pytest.raises(StudyInputError, match="no targets: \\['s3'\\]"):
        model_table(_wide(), targets.iloc[:2])


def test_save_tables_writes_csv_and_parquet(tmp_path):
    written = save_tables(tmp_path, metrics=_wide())
    back = pd.read_parquet(tmp_path / "metrics.parquet")
    assert list(back.columns[:3]) == ["subject", "group", "roi"]
    assert read_table_csv(written["metrics"]).shape == back.shape == (4, 7)


def test_study_settings_restricts_the_levels():
    settings = study_settings("seed-protocol", [32, 8, 8], families=["statistics", "glcm"])
    d = settings.to_dict()["discretisation"]
    assert [(e["method"], e["n_bins"]) for e in d] == [("fbn", 8), ("fbn", 32)]
    assert settings.to_dict()["families"] == ["statistics", "glcm"]
    with pytest.raises(StudyInputError, match="at least one"):
        study_settings("seed-protocol", [])


def test_warnings_are_counted_by_message():
    import warnings

    class TqdmWarning(Warning):
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            warnings.warn("morph_vol_dens_aee is undefined", RuntimeWarning)
        warnings.warn("IProgress not found", TqdmWarning)
        warnings.warn("other", UserWarning)
    assert summarise_warnings(caught) == {"morph_vol_dens_aee is undefined": 3, "other": 1}


def test_parallel_jobs_takes_workers_else_the_usable_cpus(monkeypatch):
    from neurorad.studies import common

    assert common.parallel_jobs(3) == 3
    monkeypatch.setattr(common.os, "sched_getaffinity", lambda pid: {0, 5}, raising=False)
    assert common.parallel_jobs() == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(common.StudyInputError, match="workers"):
            common.parallel_jobs(bad)


def test_quick_design_lowers_the_published_design():
    from neurorad.studies.common import quick_design
    from neurorad.studies.notebooks import parameters

    dai = parameters("dai")
    # the default run is the published design (issue 16)
    assert dai["levels"] == [2, 4, 8, 16, 32, 64, 128] and dai["binnings"] == ["fbn", "ep"]
    assert len(dai["maps"]) == 10 and dai["repeats"] >= 5 and dai["n_permutations"] >= 99
    assert parameters("pet")["n_splits"] == 300
    quick = quick_design(dai)
    assert quick["levels"] == [8, 32] and quick["binnings"] == ["fbn"]
    assert quick["maps"] == ["FA", "MK"] and quick["repeats"] == 1
    assert quick["n_permutations"] == 2 and quick["outer_folds"] == 3
    assert quick["models"] == ["null", "lasso_lr"] and "n_splits" not in quick
    pet = quick_design(parameters("pet"))
    assert pet["n_splits"] == 4
    assert quick_design(parameters("nf2"))["embedding_permutations"] == 19
    # two levels or one map given: kept as they are
    small = quick_design({**dai, "levels": [4, 16], "maps": ["MD"]})
    assert "levels" not in small and "maps" not in small


@pytest.mark.parametrize("study", ["nf2", "pet", "dai", "glioma"])
def test_papermill_reads_every_parameter(study):
    # papermill skips a parameter line it cannot parse (e.g. parentheses in its comment) and
    # then warns "Passed unknown parameter" when the run sets it.
    import papermill

    from neurorad.studies.notebooks import notebook, parameters

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{study}.ipynb"
        nbformat.write(notebook(study), path)
        assert set(papermill.inspect_notebook(str(path))) == set(parameters(study))
