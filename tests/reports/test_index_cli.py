"""Index page from headline files; CLI argument handling."""
from __future__ import annotations

import math

import pytest

from neurorad.cli import build_parser
from neurorad.reports.cli import parse_parameter_value
from neurorad.reports.index import build_index
from neurorad.studies.headline import Headline, read_headline, write_headline


def test_headline_round_trip_and_chance(tmp_path):
    head = Headline(study="dai", metric="roc_auc", model="svm", estimate=0.71, ci_low=0.52,
                    ci_high=0.88, task="outcome", leaky=0.97, published=0.997, chance=0.5)
    write_headline(head, tmp_path / "dai")
    back = read_headline(tmp_path / "dai")
    assert back == head
    assert back.contains_chance is False
    assert Headline("pet", "spearman_rho", "lasso", 0.1, -0.2, 0.4,
                    chance=0.0).contains_chance is True
    assert Headline("nf2", "x", "y", 0.1, math.nan, math.nan, chance=0.5).contains_chance is None
    assert read_headline(tmp_path / "missing") is None


def test_index_links_reports_and_shows_numbers(tmp_path):
    write_headline(Headline(study="dai", metric="roc_auc", model="svm", estimate=0.7123,
                            ci_low=0.5234, ci_high=0.8811, task="outcome", leaky=0.9712,
                            published=0.997, chance=0.5), tmp_path / "dai")
    (tmp_path / "dai.html").write_text("<html></html>")
    page = build_index(tmp_path).read_text(encoding="utf-8")
    assert '<a href="dai.html">' in page
    assert "0.712 [0.523; 0.881] (interval excludes chance)" in page
    assert "<td>0.971</td>" in page and "0.997" in page
    # Studies not run yet are listed as such, without a dead link.
    assert page.count("not run yet") == 3 and 'href="pet.html"' not in page


def test_parameter_values_parse_as_yaml():
    assert parse_parameter_value("8") == 8
    assert parse_parameter_value("[8, 16]") == [8, 16]
    assert parse_parameter_value("true") is True
    assert parse_parameter_value("data/x.yaml") == "data/x.yaml"
    assert parse_parameter_value("[unclosed") == "[unclosed"


def test_cli_registers_commands_and_rejects_unknown_study():
    parser = build_parser()
    args = parser.parse_args(["run-study", "dai", "-p", "repeats", "3", "-p", "seed", "1"])
    assert args.name == "dai" and args.parameter == [["repeats", "3"], ["seed", "1"]]
    with pytest.raises(SystemExit):
        parser.parse_args(["run-study", "gbm"])
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "gbm"])
    assert parser.parse_args(["report", "--all", "--no-code"]).no_code


def test_report_without_executed_notebooks_fails_clearly(tmp_path, capsys):
    from neurorad.cli import main

    assert main(["report", "--output", str(tmp_path)]) == 1
    assert "no executed notebooks" in capsys.readouterr().err


def test_ensure_cohort_reuses_an_existing_manifest_and_generates_a_missing_one(tmp_path,
                                                                            monkeypatch):
    import neurorad.synth.cohort
    from neurorad.synth.cohort import ensure_cohort

    calls = []

    def fake_make_cohort(study, out_dir, *, seed, null, **size):
        calls.append((study, str(out_dir), seed, null))
        (out_dir / "manifest.yaml").parent.mkdir(parents=True, exist_ok=True)
        (out_dir / "manifest.yaml").write_text("neurorad_manifest: 1\n")
        return out_dir / "manifest.yaml"

    monkeypatch.setattr(neurorad.synth.cohort, "make_cohort", fake_make_cohort)
    first = ensure_cohort("dai", tmp_path, null=True, seed=3, quiet=True)
    assert first == tmp_path / "dai-null" / "manifest.yaml"
    assert calls == [("dai", str(tmp_path / "dai-null"), 3, True)]
    assert ensure_cohort("dai", tmp_path, null=True, seed=3, quiet=True) == first
    assert len(calls) == 1  # reused, not regenerated
