"""Package side of the notebooks' parameters (issue 14, finding 10)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurorad.reports.cli import parse_parameter_value
from neurorad.studies.common import StudyInputError, model_names
from neurorad.studies.glioma import headline_class
from neurorad.studies.validation import BY_DISCRETISATION_COLUMNS, by_discretisation


def test_yaml_null_is_the_null_model():
    assert model_names(parse_parameter_value("[null, lasso_lr]")) == ["null", "lasso_lr"]
    assert model_names(["null", None, "svm"]) == ["null", "svm"]
    for bad in ("svm", [], [1], None):
        with pytest.raises(StudyInputError, match="models"):
            model_names(bad)


def test_headline_class_default_fallback_and_request():
    y = np.array(["a", "a", "b", "b", "b", "c", "c", "c", "c"])
    groups = np.array(["p1", "p1", "p2", "p3", "p4", "p5", "p6", "p6", "p6"])
    # patients per class: a 1, b 3, c 2 -> b is the commonest (by patients, not ROIs)
    assert headline_class(y, groups, ["a", "b", "c"]) == "b"
    assert headline_class(np.append(y, "glioblastoma"), np.append(groups, "p9"),
                          ["b", "glioblastoma"]) == "glioblastoma"
    assert headline_class(y, groups, ["a", "c"]) == "c"  # only evaluated classes count
    assert headline_class(y, groups, ["a", "b"], requested="a") == "a"
    with pytest.raises(StudyInputError, match="headline_class 'x' is not one of"):
        headline_class(y, groups, ["a", "b"], requested="x")


def test_by_discretisation_without_levels_is_an_empty_table_with_columns():
    X = pd.DataFrame({"T1__stat_mean": [1.0, 2.0], "T1__cm_joint_max_3D_avg": [3.0, 4.0]})
    table = by_discretisation(X, [0, 1], [0, 1], task="classification", model="lasso_lr",
                              outer_folds=2, repeats=1, seed=0)
    assert table.empty and list(table.columns) == BY_DISCRETISATION_COLUMNS
    assert table[table.metric == "roc_auc"].empty  # what the notebooks do with it


def test_plot_of_an_empty_level_table_says_so():
    import matplotlib

    matplotlib.use("agg")
    from neurorad.plots import plot_performance_vs_discretisation

    ax = plot_performance_vs_discretisation(pd.DataFrame(columns=BY_DISCRETISATION_COLUMNS))
    assert "nothing to compare" in ax.texts[0].get_text()
