"""`neurorad extract` end to end with the real feature engine (synchronous scheduler)."""
from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from neurorad.cli import main

from batch_helpers import expected_stats, make_cohort

SETTINGS_YAML = """\
name: batch-cli-test
discretisation: {method: fbn, n_bins: 8}
families: [statistics, glcm]
aggregations: [3D_avg]
device: cpu
"""


def test_extract_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["extract", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--settings", "--out", "--scheduler", "--workers", "--device", "--data-root"):
        assert option in out


@pytest.mark.timeout(120)
def test_extract_command_with_the_real_engine(tmp_path, capsys):
    cohort = make_cohort(tmp_path / "data", n_subjects=2)
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS_YAML)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny ROIs: some GLCM features warn as undefined
        code = main(["extract", str(cohort.manifest), "--settings", str(settings), "--out", str(out),
                     "--scheduler", "synchronous", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert "8 cases: 8 computed" in capsys.readouterr().out
    features = pd.read_parquet(out / "features.parquet")
    means = features[features["feature"] == "stat_mean"].set_index(["subject", "roi", "image"])["value"]
    assert len(means) == 8
    for (subject, roi, image), value in means.items():
        assert value == pytest.approx(expected_stats(cohort, subject, roi, image)["mean"], rel=1e-12)
    assert features["feature"].str.startswith("cm_").any()
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert prov["settings"]["name"] == "batch-cli-test"

    # second run: everything from the cache
    assert main(["extract", str(cohort.manifest), "--settings", str(settings), "--out", str(out),
                 "--scheduler", "synchronous", "--no-progress"]) == 0
    assert "8 cases: 0 computed, 8 from cache, 0 failed" in capsys.readouterr().out


def test_extract_reports_bad_input_with_exit_status_2(tmp_path, capsys):
    cohort = make_cohort(tmp_path / "data", n_subjects=1)
    code = main(["extract", str(cohort.manifest), "--settings", "no-such-preset", "--out",
                 str(tmp_path / "o"), "--scheduler", "synchronous"])
    assert code == 2
    assert "no-such-preset" in capsys.readouterr().err
    code = main(["extract", str(tmp_path / "missing.yaml"), "--settings", "ibsi-phantom", "--out",
                 str(tmp_path / "o"), "--scheduler", "synchronous"])
    assert code == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_extract_exit_status_1_when_a_case_fails(tmp_path, capsys):
    cohort = make_cohort(tmp_path / "data", n_subjects=2)
    (cohort.root / "s01" / "T2.nii.gz").unlink()
    settings = tmp_path / "settings.yaml"
    settings.write_text(SETTINGS_YAML.replace("[statistics, glcm]", "[statistics]"))
    code = main(["extract", str(cohort.manifest), "--settings", str(settings), "--out",
                 str(tmp_path / "o"), "--scheduler", "synchronous", "--no-progress"])
    assert code == 1
    assert "2 failed" in capsys.readouterr().out
