"""Validation steps every study reports: grouped vs leaky, permutation control, published
comparison, performance per discretisation level, and the headline number.

All model fitting goes through :func:`neurorad.modeling.evaluate`; this module only chooses
what to evaluate and reshapes the results into the tables the reports show.
"""
from __future__ import annotations

import math

import pandas as pd

from neurorad.studies.headline import Headline
from neurorad.studies import get_study
from neurorad.studies.published import headline_published, published_table
from neurorad.studies.common import (columns_for_discretisation, discretisations_in,
                                     filter_of, filters_in)

#: Value of each headline metric for a predictor without information.
CHANCE = {"roc_auc": 0.5, "bacc": 0.5, "spearman_rho": 0.0, "pearson_r": 0.0, "r2": 0.0}


def grouped_and_leaky(X, y, groups, *, task, models, outer_folds, repeats, seed,
                      n_permutations=0, leaky=True, **options):
    """Evaluate with patient-grouped splits (the honest design) and, if ``leaky``, with
    ROI-level splits (the published design) under the same seed and options.

    The label-permutation test (``n_permutations`` patient-level permutations, one repeat
    each to bound the cost) runs on the grouped design only: it is the control that the
    honest validation does not leak.

    Returns
    -------
    metrics : DataFrame
        ``evaluate`` metrics with a ``split`` column (``grouped`` / ``leaky``).
    results : dict
        ``{"grouped": EvaluationResult, "leaky": EvaluationResult}`` (``leaky`` absent
        when not run).
    """
    from neurorad.modeling import evaluate

    common = dict(groups=groups, task=task, models=models, outer_folds=outer_folds,
                  repeats=repeats, seed=seed, **options)
    results = {"grouped": evaluate(X, y, n_permutations=n_permutations,
                                   permutation_repeats=1, **common)}
    if leaky:
        results["leaky"] = evaluate(X, y, split_by_group=False, **common)
    metrics = pd.concat([r.metrics.assign(split=name) for name, r in results.items()],
                        ignore_index=True)
    return metrics, results


def feasible_folds(y, groups, requested: int) -> int:
    """Outer folds a grouped stratified split can have: at most the number of patients of
    the rarest class (each test fold needs every class); 0 when a class has < 2 patients."""
    per_class = pd.Series(groups).groupby(pd.Series(y).to_numpy()).nunique()
    smallest = int(per_class.min()) if len(per_class) > 1 else 0
    return min(int(requested), smallest) if smallest >= 2 else 0


def format_interval(estimate, low, high, digits: int = 3) -> str:
    """``'0.712 [0.523; 0.881]'``; the bare estimate when the interval is undefined."""
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        return "–"
    if low is None or any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        return f"{estimate:.{digits}f}"
    return f"{estimate:.{digits}f} [{low:.{digits}f}; {high:.{digits}f}]"


def side_by_side(metrics: pd.DataFrame, metric_names) -> pd.DataFrame:
    """Rows model (and class), columns (metric, split): ``estimate [CI]`` text cells."""
    m = metrics[metrics["metric"].isin(metric_names)].copy()
    m["class"] = m["class"].fillna("")
    m["cell"] = [format_interval(e, lo, hi) for e, lo, hi in
                 zip(m.estimate, m.ci_low, m.ci_high)]
    table = m.pivot_table(index=["class", "model"], columns=["metric", "split"],
                          values="cell", aggfunc="first", sort=False)
    order = [(k, s) for k in metric_names for s in ("grouped", "leaky")
             if (k, s) in table.columns]
    table = table[order]
    if (table.index.get_level_values("class") == "").all():
        table = table.droplevel("class")
    return table


def published_comparison(metrics: pd.DataFrame, study: str, task: str,
                         target_class_of=None) -> pd.DataFrame:
    """Every published number of ``study``/``task`` next to our grouped and leaky estimates.

    ``target_class_of`` maps a published class name to the key our metrics use for it (the
    one-vs-rest evaluations of the glioma study store the class in ``class``).
    """
    pub = published_table(study)
    pub = pub[pub["task"] == task]
    rows = []
    for p in pub.itertuples():
        cls = p._5 if target_class_of is None else target_class_of(p._5)
        row = {"model": p.model, "metric": p.metric, "class": p._5, "published": p.value,
               "published_ci": format_interval(p.value, p.ci_low, p.ci_high),
               "source": p.source}
        for split in ("grouped", "leaky"):
            hit = metrics[(metrics.model == p.model) & (metrics.metric == p.metric)
                          & (metrics.split == split)
                          & (metrics["class"].fillna("") == (cls or ""))]
            row[f"ours_{split}"] = (format_interval(*hit.iloc[0][["estimate", "ci_low",
                                                                   "ci_high"]])
                                    if len(hit) else "not run")
        rows.append(row)
    return pd.DataFrame(rows)


def permutation_table(result) -> pd.DataFrame:
    """The label-permutation control of an evaluation: observed headline statistic, mean
    over permutations (should sit at chance), its SD and the permutation p-value."""
    tests = result.tests
    if tests is None or tests.empty or "versus" not in tests:
        return pd.DataFrame(columns=["model", "metric", "observed", "permuted_mean",
                                     "permuted_sd", "p_value", "method"])
    perm = tests[tests["versus"] == "permutation"]
    return perm.rename(columns={"estimate": "observed", "statistic": "permuted_mean",
                                "se": "permuted_sd"})[
        ["model", "metric", "observed", "permuted_mean", "permuted_sd", "p_value", "method"]
    ].reset_index(drop=True)


#: Columns of :func:`by_discretisation`'s table, also when it is empty.
BY_DISCRETISATION_COLUMNS = ["model", "metric", "split", "class", "estimate", "ci_low",
                             "ci_high", "discretisation", "n_features"]


def by_discretisation(X: pd.DataFrame, y, groups, *, task, model, outer_folds, repeats,
                      seed, **options) -> pd.DataFrame:
    """Grouped performance of one model at each discretisation level present in ``X``.

    Each level's model sees that level's texture/histogram features plus all
    level-independent ones (morphology, statistics). Returns the overall metric rows with a
    ``discretisation`` and an ``n_features`` column; an empty table with those columns
    (:data:`BY_DISCRETISATION_COLUMNS`) when ``X`` has fewer than two levels to compare (one
    level leaves no suffix on the tags; families without texture have none).
    """
    from neurorad.modeling import evaluate

    rows = []
    for level in discretisations_in(X.columns):
        cols = columns_for_discretisation(X.columns, level)
        result = evaluate(X[cols], y, groups=groups, task=task, models=(model,),
                          outer_folds=outer_folds, repeats=repeats, seed=seed, **options)
        m = result.metrics[result.metrics["class"].isna()]
        rows.append(m.assign(discretisation=level, n_features=len(cols)))
    if not rows:
        # One level (its features carry no suffix) or no family that is discretised:
        # nothing to compare, an empty table with the usual columns.
        return pd.DataFrame(columns=BY_DISCRETISATION_COLUMNS)
    return pd.concat(rows, ignore_index=True)


def by_filter(X: pd.DataFrame, y, groups, *, task, model, outer_folds, repeats, seed,
              **options) -> pd.DataFrame:
    """Grouped performance of one model on the features of each image type in ``X``: the
    original image, then each filter response map (IBSI-2; ``filter`` column: its tag's
    filter part, ``original`` for the unfiltered image), each model seeing that image's
    features only. Empty when ``X`` has no features of filtered images.

    Returns the overall metric rows with ``filter`` and ``n_features`` columns.
    """
    from neurorad.modeling import evaluate

    parts = filters_in(X.columns)
    if not parts:
        return pd.DataFrame()
    rows = []
    for part in ["", *parts]:
        cols = [c for c in X.columns if filter_of(c) == part]
        if not cols:
            continue
        result = evaluate(X[cols], y, groups=groups, task=task, models=(model,),
                          outer_folds=outer_folds, repeats=repeats, seed=seed, **options)
        m = result.metrics[result.metrics["class"].isna()]
        rows.append(m.assign(filter=part or "original", n_features=len(cols)))
    return pd.concat(rows, ignore_index=True)


def show_by_filter(by_filter: pd.DataFrame, metrics, output, name: str) -> None:
    """Notebook display of :func:`by_filter` (rows of ``metrics``), saved as ``name`` in
    ``output``; a one-line note when the run had no filters."""
    from IPython.display import display

    from neurorad.studies.common import save_tables

    if by_filter.empty:
        print("No filtered images in this run (parameter `filters`).")
        return
    display(by_filter[by_filter.metric.isin(list(metrics))][
        ["filter", "metric", "n_features", "estimate", "ci_low", "ci_high"]])
    save_tables(output, **{name: by_filter})


def headline(metrics: pd.DataFrame, *, study: str, model: str, metric: str, task: str = "",
             target_class: str = "", notes: str = "", metric_class=None, permutation=None,
             n_permutations: int = 0, cohort: str = "", leaky_note: str = "") -> Headline:
    """The study's headline: grouped estimate with CI, the leaky estimate, the published
    value (if any, with its interval) and the chance level. ``metric_class`` selects a
    one-vs-rest row; ``permutation`` (:func:`permutation_table` of the grouped evaluation,
    run with ``n_permutations`` permutations) gives the permutation p-value of
    ``model``/``metric``; ``cohort`` says who was analysed
    and ``leaky_note`` why there is no leaky estimate, in words for the report summary."""
    def pick(split):
        rows = metrics[(metrics.model == model) & (metrics.metric == metric)
                       & (metrics.split == split)]
        rows = rows[rows["class"].isna()] if metric_class is None else \
            rows[rows["class"] == metric_class]
        return None if rows.empty else rows.iloc[0]

    grouped, leaky = pick("grouped"), pick("leaky")
    if grouped is None:
        raise ValueError(f"no grouped {model}/{metric} row to report as headline")
    pub = headline_published(study)
    keys = get_study(study).headline
    if pub is not None and keys is not None and (
            keys.metric != metric or (metric_class is not None
                                      and str(keys.target_class) != str(metric_class))):
        pub = None  # the study published another class or metric: nothing to compare with
    p_value = permutation_p(permutation, model, metric)
    return Headline(study=study, metric=metric, model=model,
                    estimate=float(grouped.estimate), ci_low=float(grouped.ci_low),
                    ci_high=float(grouped.ci_high), task=task, target_class=target_class,
                    leaky=None if leaky is None else float(leaky.estimate),
                    published=None if pub is None else pub.value,
                    published_text="" if pub is None else pub.source,
                    published_ci_low=None if pub is None or math.isnan(pub.ci_low)
                    else pub.ci_low,
                    published_ci_high=None if pub is None or math.isnan(pub.ci_high)
                    else pub.ci_high,
                    chance=CHANCE.get(metric), notes=notes, permutation_p=p_value,
                    n_permutations=int(n_permutations) if p_value is not None else 0,
                    cohort=cohort, leaky_note=leaky_note)


def cohort_text(table, *, unit: str = "patients", rows: str = "ROIs") -> str:
    """Who was analysed, in words, from a model table (``table.groups``: one patient id per
    row): ``'40 patients, one ROI each'``, ``'43 subjects, 15 ROIs each'``, or with unequal
    counts the range, ``'53 patients, 120 tumours (1-6 per patient)'``."""
    per = pd.Series(table.groups).value_counts()
    n_groups, n_rows = len(per), int(per.sum())
    singular = {"patients": "patient", "subjects": "subject"}.get(unit, unit)
    if per.min() == per.max():
        each = "one " + rows.rstrip("s") if per.min() == 1 else f"{per.min()} {rows}"
        return f"{n_groups} {unit}, {each} each"
    return f"{n_groups} {unit}, {n_rows} {rows} ({per.min()}-{per.max()} per {singular})"


def permutation_p(permutation: pd.DataFrame | None, model: str, metric: str) -> float | None:
    """Permutation p-value of ``model``/``metric`` in a :func:`permutation_table` (None when
    the test was not run for them)."""
    if permutation is None or permutation.empty:
        return None
    rows = permutation[(permutation["model"] == model) & (permutation["metric"] == metric)]
    if rows.empty or pd.isna(rows.iloc[0]["p_value"]):
        return None
    return float(rows.iloc[0]["p_value"])


def null_target_control(table, control_targets, *, task, outer_folds, repeats, seed,
                        leaky=True, **options) -> pd.DataFrame:
    """Evaluate targets known to be independent of the images (the synthetic cohorts'
    ``random_label`` / ``random_index``) with the null model and LASSO.

    Grouped, the headline metric must be at chance; leaky, a classification may still
    "find" them through patient identity. Targets absent from the table are skipped (real
    cohorts have none); returns an empty frame when none is present.
    """
    present = [t for t in control_targets if t in table.targets]
    frames = []
    for target in present:
        y = table.targets[target]
        keep = y.notna().to_numpy()
        values = y[keep].astype(str).to_numpy() if task == "classification" else \
            y[keep].to_numpy(float)
        folds = feasible_folds(values, table.groups[keep], outer_folds) \
            if task == "classification" else outer_folds
        if folds < 2:
            continue
        models = ("null", "lasso_lr" if task == "classification" else "lasso")
        metrics, _ = grouped_and_leaky(table.X[keep], values, table.groups[keep].to_numpy(),
                                       task=task, models=models, outer_folds=folds,
                                       repeats=repeats, seed=seed, leaky=leaky, **options)
        frames.append(metrics.assign(target=target))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
