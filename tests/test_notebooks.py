"""Every study notebook executes in quick mode on a small synthetic cohort and renders to an
offline HTML report with its figures, tables and headline.

Each test generates its own small cohort (``make_cohort(..., n_subjects=...)``) where the
notebook's default manifest points, in a folder laid out like a checkout, and runs the notebook
through papermill exactly as ``neurorad run-study`` does with the kernel started in
``notebooks/`` (as JupyterLab starts it), so the default paths must resolve against the
checkout root whatever the working directory. It checks what a reader gets: the executed notebook without errors, the saved tables, a headline whose interval is
consistent with its estimate, a report with embedded PNG figures and no network resources.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from neurorad.io.tables import read_table_csv
from neurorad.reports.format import format_interval
from neurorad.reports.index import build_index
from neurorad.reports.layout import python_reprs
from neurorad.reports.render import external_resources, render_html
from neurorad.reports.run import run_study
from neurorad.studies import STUDIES
from neurorad.studies.notebooks import parameters

ROOT = Path(__file__).resolve().parents[1]

# Small cohorts: enough patients per class for 2-3 grouped folds; quick settings.
CASES = {
    "nf2": {"n_subjects": 12, "params": {}, "tables": ["nf2_predictive_checks",
                                                       "nf2_univariate", "nf2_comparison"]},
    "pet": {"n_subjects": 10, "params": {}, "tables": ["pet_metrics", "pet_rho_per_split",
                                                       "pet_uptake", "pet_comparison"]},
    "dai": {"n_subjects": 10, "params": {"outer_folds": 2, "maps": ["FA", "MD"]},
            "tables": ["dai_metrics", "dai_top_features", "dai_comparison"]},
    "glioma": {"n_subjects": 12, "params": {"outer_folds": 2},
               "tables": ["glioma_one_vs_rest", "glioma_multiclass", "glioma_comparison"]},
    # 12 patients (2 of each rare grade), ~17 MRI studies; quick: 2 epochs per network.
    "grading": {"n_subjects": 12, "params": {"outer_folds": 2},
                "tables": ["grading_metrics", "grading_comparison", "grading_training",
                           "grading_radiomics"]},
}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("study", list(CASES))
def test_notebook_runs_quick_and_renders(study, tmp_path):
    from neurorad.synth import make_cohort

    case = CASES[study]
    # A checkout: pyproject.toml + neurorad/__init__.py at its root, the kernel in notebooks/.
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "neurorad").mkdir()
    (tmp_path / "neurorad" / "__init__.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    default = parameters(study)
    make_cohort(study, tmp_path / Path(default["manifest"]).parent, seed=1,
                n_subjects=case["n_subjects"], progress=False)
    params = {"quick": True, "scheduler": "synchronous", **case["params"]}
    executed = run_study(study, params, tmp_path / "reports", progress=False,
                         cwd=tmp_path / "notebooks")
    assert (tmp_path / default["work_dir"]).is_dir()  # the default cache, at the root

    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[:1]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1

    out = tmp_path / "reports" / study
    for name in case["tables"]:
        csv = read_table_csv(out / f"{name}.csv")
        parquet = pd.read_parquet(out / f"{name}.parquet")
        assert len(csv) == len(parquet) > 0, name
        # The CSV holds the same values (names such as the "null" model stay names); a
        # missing value may be None on one side and NaN on the other, and CSV cannot tell
        # an empty string from a missing value (neurorad.io.tables).
        pd.testing.assert_frame_equal(*(t.astype(object).where(t.notna() & (t != ""), None)
                                        for t in (csv, parquet)), obj=name)

    head = json.loads((out / "headline.json").read_text(encoding="utf-8"))
    assert head["study"] == study
    assert head["ci_low"] - 1e-9 <= head["estimate"] <= head["ci_high"] + 1e-9
    assert head["chance"] in (0.0, 0.5)
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert prov["manifest_sha256"] and prov["parameters"]["quick"] is True
    assert prov["run_time_s"] > 0

    html = render_html(executed, tmp_path / "reports" / f"{study}.html",
                       entry=STUDIES[study]).read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="data:image/png;base64,', html)
    assert external_resources(html) == []
    assert "Methods (generated from this run" in html and "Provenance" in html
    _assert_reads_like_a_report(html, head, out)

    # The index: one card per registered study; this study's with its numbers and thumbnail.
    index = build_index(tmp_path / "reports").read_text(encoding="utf-8")
    assert index.count('<article class="nr-card"') == len(STUDIES)
    card = index[index.index(f'id="study-{study}"'):]
    card = card[:card.index("</article>")]
    assert f'<a href="{study}.html">' in card and format_interval(
        head["estimate"], head["ci_low"], head["ci_high"]) in card
    assert re.search(r'<img class="nr-thumb" src="data:image/png;base64,', card)


def _assert_reads_like_a_report(html: str, head: dict, out: Path) -> None:
    """Summary (with the saved headline) and contents before the first code; every code cell
    folded in <details>; every figure captioned "Figure N." in order; no Python repr."""
    summary = re.search(r'<section\b[^>]*class="nr-summary"', html).start()
    assert summary < re.search(r'<nav\b[^>]*class="nr-toc', html).start() < html.index(
        "<details")
    section = html[summary:html.index("</section>", summary)]
    assert format_interval(head["estimate"], head["ci_low"], head["ci_high"]) in section
    assert "Permutation control" in section and "Leaky vs grouped" in section
    assert head["cohort"] and head["n_permutations"] >= 1
    assert (out / "key_figure.png").is_file()
    assert re.search(r'<a href="#figure-\d+">Figure \d+\.</a>', section)  # key figure
    outside = re.sub(r"<details\b.*?</details>", "", html, flags=re.S)
    assert "hl-ipython3" not in outside  # no code outside the folds
    body = html[html.index("</nav>"):]
    numbers = [int(n) for n in re.findall(r"<figcaption><strong>Figure (\d+)\.</strong>",
                                          body)]
    assert numbers == list(range(1, len(numbers) + 1)) and numbers
    assert len(re.findall(r'<img [^>]*src="data:image/png', body)) == len(numbers)
    assert python_reprs(html) == [], python_reprs(html)[:3]
    assert "Headline(" not in outside


def test_committed_notebooks_have_no_outputs_and_one_parameters_cell():
    for study, entry in STUDIES.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{entry.notebook}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), study
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, study
        for key in ("manifest", "data_root", "settings", "levels", "models", "outer_folds",
                    "repeats", "seed", "device", "scheduler", "workers", "output_dir",
                    "quick"):
            assert f"\n{key} = " in "\n" + tagged[0].source, (study, key)
        assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_notebook_with_filters_reports_filtered_features(tmp_path):
    """``-p filters`` (here a 3-D mean filter): features of the response map reach the model
    table, the report has a per-image-type validation table and the methods paragraph
    names the filter with its parameters."""
    from neurorad.synth import make_cohort

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "neurorad").mkdir()
    (tmp_path / "neurorad" / "__init__.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    default = parameters("glioma")
    assert default["filters"] is None  # the published studies used none
    make_cohort("glioma", tmp_path / Path(default["manifest"]).parent, seed=1,
                n_subjects=12, progress=False)
    mean3 = {"filter": "mean", "dimensions": "3d", "boundary": "mirror", "support_voxels": 3}
    params = {"quick": True, "scheduler": "synchronous", "outer_folds": 2,
              "filters": [mean3]}
    executed = run_study("glioma", params, tmp_path / "reports", progress=False,
                         cwd=tmp_path / "notebooks")
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[:1]
    by_filter = pd.read_parquet(tmp_path / "reports" / "glioma" / "glioma_by_filter.parquet")
    assert set(by_filter["filter"]) == {"original", "mean_m3"}
    assert (by_filter["n_features"] > 0).all()
    html = render_html(executed, tmp_path / "reports" / "glioma.html").read_text(
        encoding="utf-8")
    assert "Features of filtered images" in html
    assert "mean (3-D; support 3 voxels; mirror boundary)" in html
    prov = json.loads((tmp_path / "reports" / "glioma" / "provenance.json").read_text())
    assert prov["parameters"]["filters"] == [mean3]
