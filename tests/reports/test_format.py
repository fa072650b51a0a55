"""Report formatting helpers against hand-written expected strings."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from neurorad.reports.format import (format_interval, format_number, format_p, format_table,
                                     report_table)


def test_intervals_read_as_the_studies_wrote_them():
    assert format_interval(0.78, 0.59, 0.91, 2) == "0.78 [0.59; 0.91]"
    assert format_interval(0.7123, 0.5234, 0.8811) == "0.712 [0.523; 0.881]"
    assert format_interval(-0.0449, -0.31, 0.2) == "-0.045 [-0.310; 0.200]"
    assert format_interval(0.5, math.nan, math.nan) == "0.500"
    assert format_interval(math.nan, 0.1, 0.2) == "\u2013"


def test_numbers_and_p_values():
    assert format_number(np.float64(0.71249)) == "0.712"
    assert format_number(np.int64(40)) == "40"
    assert format_number(True) == "yes" and format_number(np.bool_(False)) == "no"
    assert format_number(None) == format_number(np.nan) == format_number(pd.NA) == "\u2013"
    assert format_number("fbn8") == "fbn8"
    assert format_p(0.0123) == "0.012"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(None) == "\u2013"
    # 99 permutations: p cannot go below 1/100; at the floor the text says so.
    assert format_p(0.01, 99) == "\u2264 0.010 (smallest possible with 99 permutations)"
    assert format_p(0.35, 99) == "0.350"
    assert format_p(1 / 6, 5) == "\u2264 0.167 (smallest possible with 5 permutations)"


def test_table_merges_intervals_labels_models_and_formats_cells():
    frame = pd.DataFrame({"model": ["rf", "lasso_lr"], "metric": ["roc_auc", "bacc"],
                          "estimate": [0.78123, 0.5], "ci_low": [0.591, np.nan],
                          "ci_high": [0.912, np.nan], "n_features": [12, 30],
                          "p_value": [0.0456, 0.00002]}).set_index("model")
    table = format_table(frame)
    assert list(table.columns) == ["Model", "Metric", "Estimate [95% CI]", "Features", "p"]
    assert table.to_dict("records") == [
        {"Model": "Random forest", "Metric": "ROC AUC", "Estimate [95% CI]":
         "0.781 [0.591; 0.912]", "Features": "12", "p": "0.046"},
        {"Model": "LASSO logistic regression", "Metric": "Balanced accuracy",
         "Estimate [95% CI]": "0.500", "Features": "30", "p": "< 0.001"},
    ]
    counts = format_table(pd.DataFrame({"n_splits": [4.0, np.nan], "median": [4.0, 0.5]}))
    assert counts.to_dict("records") == [{"Splits": "4", "Median": "4.000"},
                                         {"Splits": "\u2013", "Median": "0.500"}]
    custom = format_table(pd.DataFrame({"value": [1.0], "lo": [0.5], "hi": [2.25]}),
                          intervals={"published": ("value", "lo", "hi")}, digits=2)
    assert custom.to_dict("records") == [{"Published": "1.00 [0.50; 2.25]"}]


def test_report_table_html_is_escaped_and_has_no_index():
    html = report_table(pd.DataFrame({"class": ["<img src=x onerror=alert(1)>"],
                                      "estimate": [0.5]}), caption="A & B").to_html()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<caption>A &amp; B</caption>" in html
    assert "<th>Class</th>" in html and "<td>0.500</td>" in html
    assert "<th></th>" not in html  # no index column
    assert repr(report_table(pd.DataFrame({"a": [1]}))) == "A\n1"
