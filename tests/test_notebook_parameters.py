"""Every study notebook runs with ordinary non-default choices (issue 14, finding 10): one
grey level, no texture family (nothing discretised; NF2 keeps morphology, which its tumour-size
control needs, and says so by name otherwise), the null model written as YAML ``null``; glioma also with classes that do not include its default headline class, named
with injection payloads that must reach the report as text (finding 1)."""
from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from neurorad.reports.cli import parse_parameter_value
from neurorad.reports.render import render_html
from neurorad.reports.run import run_study
from neurorad.reports.safe import active_content
from neurorad.studies.notebooks import parameters

# Class renames for glioma: no "glioblastoma", hostile names.
GLIOMA_CLASSES = {"glioblastoma": '<img src=x onerror="alert(1)">',
                  "oligodendroglioma": "[oligo](javascript:alert(2))"}

CASES = {
    # NF2's size control needs tumour volume: morphology stays (still no texture).
    "nf2": {"n_subjects": 12, "params": {"families": "[morphology, statistics]",
                                         "headline_metric": "bacc"},
            "table": "nf2_predictive_checks"},
    "pet": {"n_subjects": 10, "params": {"regression_models": "[null, lasso]",
                                         "headline_metric": "pearson_r"},
            "table": "pet_metrics"},
    "dai": {"n_subjects": 10, "params": {"outer_folds": 2, "maps": ["FA", "MD"],
                                         "headline_metric": "bacc"},
            "table": "dai_metrics"},
    "glioma": {"n_subjects": 12, "params": {"outer_folds": 2, "headline_metric": "bacc"},
               "table": "glioma_one_vs_rest"},
}


def _rename_classes(manifest: Path, renames: dict) -> None:
    raw = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    spec = raw["targets"]["histology"]
    if spec.get("classes"):
        spec["classes"] = [renames.get(c, c) for c in spec["classes"]]
    for subject in raw["subjects"]:
        value = subject["targets"]["histology"]
        subject["targets"]["histology"] = renames.get(value, value)
    manifest.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("study", list(CASES))
def test_notebook_with_one_level_no_texture_and_yaml_null_model(study, tmp_path):
    from neurorad.synth import make_cohort

    case = CASES[study]
    manifest = make_cohort(study, tmp_path / "cohort", seed=2, n_subjects=case["n_subjects"],
                           progress=False)
    if study == "glioma":
        _rename_classes(manifest, GLIOMA_CLASSES)
    # As `neurorad run-study STUDY -p levels '[8]' -p families '[statistics]' -p models
    # '[null, lasso_lr]'` passes them: parsed as YAML, where null is None.
    raw = {"levels": "[8]", "families": "[statistics]", "models": "[null, lasso_lr]",
           **{k: v for k, v in case["params"].items() if isinstance(v, str)}}
    params = {**{k: parse_parameter_value(v) for k, v in raw.items()},
              **{k: v for k, v in case["params"].items() if not isinstance(v, str)},
              "manifest": str(manifest), "work_dir": str(tmp_path / "work"),
              "scheduler": "synchronous", "quick": True}
    assert params["models"] == [None, "lasso_lr"]
    assert set(params) <= set(parameters(study)), set(params) - set(parameters(study))
    executed = run_study(study, params, tmp_path / "reports", progress=False, cwd=tmp_path)

    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[:1]
    out = tmp_path / "reports" / study
    table = pd.read_parquet(out / f"{case['table']}.parquet")
    assert "null" in set(table["model"])  # YAML's null kept as the null model
    features = pd.read_parquet(tmp_path / "work" / "features.parquet")["feature"]
    assert features.str.startswith(("stat_", "morph_")).all()  # nothing discretised
    head = json.loads((out / "headline.json").read_text(encoding="utf-8"))
    assert head["metric"] == parse_parameter_value(case["params"]["headline_metric"])
    html = render_html(executed, tmp_path / "reports" / f"{study}.html").read_text(
        encoding="utf-8")
    assert active_content(html) == []
    if study == "glioma":
        assert head["published"] is None  # published for glioblastoma ROC AUC only
        # No glioblastoma: the headline is the most prevalent evaluated class.
        ovr = table[(table.split == "grouped") & table["class"].notna()]
        assert head["target_class"] in set(ovr["class"])
        assert head["target_class"] != "glioblastoma"
        # The hostile class names are shown as text, never as markup.
        assert '<img src=x onerror' not in html
        for name in GLIOMA_CLASSES.values():
            assert name in unescape(html)
