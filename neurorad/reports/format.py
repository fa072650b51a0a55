"""How numbers, intervals, p-values and tables read in a report.

A report is read by clinicians, not by Python: an interval is ``0.78 [0.59; 0.91]``, a
model is "Random forest", a metric "ROC AUC", a p-value of a permutation test says how many
permutations it rests on, and a table shows formatted text cells, never a ``repr``.
:class:`ReportTable` is what a notebook displays instead of a raw DataFrame.

Intervals use the convention of the original studies: estimate, then the lower and upper
95 % limits in square brackets separated by a semicolon (``validation.format_interval``).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from neurorad.modeling.metrics import METRIC_LABELS
from neurorad.modeling.models import labels as model_labels
from neurorad.reports.safe import html_text
from neurorad.studies.validation import format_interval

__all__ = ["METRIC_LABELS", "MODEL_LABELS", "ReportTable", "format_interval", "format_number",
           "format_p", "format_table", "metric_label", "model_label", "report_table"]

#: Model name (``neurorad.modeling``) -> short label for tables and captions.
# The registered models (neurorad.modeling.models) and the grading study's networks, which
# its own module trains (neurorad.studies.grading), not modeling.evaluate.
MODEL_LABELS = {**model_labels("label"), "densenet3d": "3-D DenseNet",
                "resnest2d": "2-D ResNeSt"}

#: Column names shown differently from the plain ``snake_case -> Snake case`` rule.
COLUMN_LABELS = {
    "p_value": "p",
    "q_value": "q (FDR)",
    "n_features": "Features",
    "n_splits": "Splits",
    "ci": "95% CI",
    "published_ci": "Published [95% CI]",
    "permuted_mean": "Permuted mean",
    "permuted_sd": "Permuted SD",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "spearman_rho": "Spearman rho",
}

MISSING = "\u2013"  # en dash: no value


def metric_label(name) -> str:
    """``'roc_auc'`` -> ``'ROC AUC'``; unknown names are returned unchanged."""
    return METRIC_LABELS.get(name, str(name))


def model_label(name) -> str:
    """``'rf'`` -> ``'Random forest'``; unknown names are returned unchanged."""
    return MODEL_LABELS.get(name, str(name))


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(isinstance(value, numbers.Real) and math.isnan(value))
    except TypeError:
        return False


def format_number(value, digits: int = 3) -> str:
    """A cell value as text: reals with ``digits`` decimals, integers as integers,
    booleans as yes/no, missing values as an en dash, anything else as ``str``.

    >>> format_number(0.71234), format_number(12), format_number(float("nan"))
    ('0.712', '12', '–')
    """
    if _missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.{digits}f}"
    return str(value)


def format_p(p, n_permutations: int | None = None, digits: int = 3) -> str:
    """A p-value as text: ``'0.012'``, ``'< 0.001'`` below 0.001.

    A permutation p-value is at least ``1 / (n + 1)`` with ``n`` permutations (the observed
    labelling counts as one of them; Phipson & Smyth, Stat Appl Genet Mol Biol 2010); with
    ``n_permutations`` given, a p at that floor reads ``'<= 0.010 (smallest possible with
    99 permutations)'`` so that the reader sees the test could not have said more.
    """
    if _missing(p):
        return MISSING
    p = float(p)
    floor = 1.0 / (n_permutations + 1) if n_permutations else None
    limit = 10.0 ** -digits
    text = f"< {limit:.{digits}f}" if p < limit else f"{p:.{digits}f}"
    if floor is not None and p <= floor * (1 + 1e-9):
        return (f"\u2264 {floor:.{digits}f} (smallest possible with {n_permutations} "
                "permutations)")
    return text


def column_label(name) -> str:
    """``'mean_abs_weight'`` -> ``'Mean abs weight'`` (see :data:`COLUMN_LABELS`)."""
    if isinstance(name, tuple):
        return " \u00b7 ".join(column_label(n) for n in name if str(n))
    name = str(name)
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_table(frame: pd.DataFrame, *, digits: int = 3, intervals=None, p_values=(),
                 n_permutations: int | None = None, labels: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` with every cell as display text.

    Parameters
    ----------
    frame : DataFrame
        A named index (e.g. ``model``) becomes ordinary columns.
    digits : int
        Decimals of real numbers.
    intervals : dict, optional
        New column -> (estimate, low, high) columns to merge into one ``0.78 [0.59; 0.91]``
        cell (the three columns are dropped). Default: ``estimate``/``ci_low``/``ci_high``
        become ``Estimate [95% CI]`` when all three are present.
    p_values : sequence of str
        Columns formatted as p-values (:func:`format_p`); ``p_value`` always is. Columns
        named ``n_...`` are counts, shown as integers.
    n_permutations : int, optional
        Passed to :func:`format_p` for the p-value columns.
    labels : bool
        Replace model and metric names in ``model``/``metric`` columns by their labels and
        ``snake_case`` headers by words.
    """
    table = frame.copy()
    if any(n is not None for n in table.index.names):
        table = table.reset_index()
    if intervals is None:
        intervals = ({"Estimate [95% CI]": ("estimate", "ci_low", "ci_high")}
                     if {"estimate", "ci_low", "ci_high"} <= set(table.columns) else {})
    for new, (est, low, high) in intervals.items():
        cells = [format_interval(e, lo, hi, digits) for e, lo, hi in
                 zip(table[est], table[low], table[high])]
        position = list(table.columns).index(est)
        table = table.drop(columns=[est, low, high])
        table.insert(position, new, cells)
    p_columns = set(p_values) | {"p_value"}
    out = pd.DataFrame(index=range(len(table)))
    for column in table.columns:
        values = table[column].tolist()
        if isinstance(column, tuple) and not any(str(c) for c in column[1:]):
            column = column[0]  # ('model', '') of a frame with two header rows
        if column in p_columns:
            cells = [format_p(v, n_permutations, digits) for v in values]
        elif labels and column == "model":
            cells = [model_label(v) for v in values]
        elif labels and column == "metric":
            cells = [metric_label(v) for v in values]
        elif str(column).startswith("n_"):  # counts, even when stored as floats
            cells = [format_number(int(round(v)) if isinstance(v, numbers.Real)
                                   and not _missing(v) else v, digits) for v in values]
        else:
            cells = [v if isinstance(v, str) else format_number(v, digits) for v in values]
        out[column_label(column) if labels else column] = cells
    return out


class ReportTable:
    """A formatted table that a notebook displays: escaped HTML, no index column, optional
    caption; its plain-text form (``repr``) is the same table as aligned text.

    Build it with :func:`report_table`.
    """

    def __init__(self, table: pd.DataFrame, caption: str = ""):
        self.table = table
        self.caption = caption

    def to_html(self) -> str:
        """The table as HTML; every cell and the caption are escaped."""
        body = self.table.to_html(index=False, escape=True, border=0, na_rep=MISSING,
                                  classes="nr-table")
        body = body.replace(' style="text-align: right;"', "")
        if self.caption:
            body = body.replace(">", f">\n<caption>{html_text(self.caption)}</caption>", 1)
        return f'<div class="nr-table-wrap">{body}</div>'

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        text = self.table.to_string(index=False)
        return f"{self.caption}\n{text}" if self.caption else text


def report_table(frame: pd.DataFrame, caption: str = "", **options) -> ReportTable:
    """:func:`format_table` of ``frame`` wrapped for display (``display(report_table(t))``)."""
    return ReportTable(format_table(frame, **options), caption)
