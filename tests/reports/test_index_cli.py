"""Index page from headline files; CLI argument handling."""
from __future__ import annotations

import math
import re

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


def test_index_shows_one_card_per_study_with_numbers_and_thumbnail(tmp_path):
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from neurorad.reports.figures import figure_png, save_key_figure
    from neurorad.studies import STUDIES

    write_headline(Headline(study="dai", metric="roc_auc", model="svm", estimate=0.7123,
                            ci_low=0.5234, ci_high=0.8811, task="outcome", leaky=0.9712,
                            published=0.997, published_text="journal", chance=0.5,
                            permutation_p=0.02, n_permutations=99), tmp_path / "dai")
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)  # 800 px wide: thumbnail is smaller
    ax.plot([0, 1], [0, 1])
    save_key_figure(figure_png(fig), "ROC AUC grouped vs leaky", tmp_path / "dai")
    plt.close(fig)
    (tmp_path / "dai.html").write_text("<html></html>")
    page = build_index(tmp_path).read_text(encoding="utf-8")
    assert page.count('<article class="nr-card"') == len(STUDIES)
    dai = page[page.index('id="study-dai"'):]
    dai = dai[:dai.index("</article>")]
    assert '<a href="dai.html">' in dai
    assert "0.712 [0.523; 0.881]" in dai and "the interval excludes chance (0.5)" in dai
    assert "0.997, journal" in dai
    assert "0.971 with ROI-level (leaky) splits versus 0.712 grouped by patient" in dai
    assert "p = 0.020 over 99 label permutations" in dai
    thumb = re.search(r'<img class="nr-thumb" src="data:image/png;base64,([^"]+)"', dai)
    assert thumb, dai
    import base64
    import io

    import matplotlib.image as mpimg
    width = mpimg.imread(io.BytesIO(base64.b64decode(thumb.group(1))), format="png").shape[1]
    assert width <= 480
    # Studies not run yet are listed as such, without a dead link or thumbnail.
    assert page.count("not run yet") == len(STUDIES) - 1 and 'href="pet.html"' not in page
    assert page.count('class="nr-thumb"') == 1
    assert "<script" not in page


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
