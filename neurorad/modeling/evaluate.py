"""Leakage-safe evaluation of candidate models: grouped, stratified, nested, repeated CV.

``evaluate`` is the one entry point the study notebooks use; ``leakage_contrast`` runs it
twice -- splits grouped by patient and splits by ROI -- to show how much a leaky design
inflates the metrics. How metrics are estimated and their intervals built:
:mod:`neurorad.modeling.scoring`; the in-fold pipeline: :mod:`neurorad.modeling.pipelines`.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from neurorad.modeling.fitting import FoldFit, fit_split_labels
from neurorad.modeling.inputs import (check_fold_feasibility, check_inputs,
                                      check_training_size, patient_labels)
from neurorad.modeling.models import make_model, model_names
from neurorad.modeling.pipelines import PreprocessOptions
from neurorad.modeling.scoring import (bootstrap_counts, delong_table, headline_statistic,
                                       jackknife_weights, summarise, to_units)
from neurorad.modeling.splits import outer_splits, permuted_labels

TEST_COLUMNS = ["model", "versus", "class", "metric", "estimate", "se", "statistic", "p_value",
                "method"]


@dataclass(frozen=True)
class EvaluationOptions:
    """Options of :func:`evaluate` (keyword arguments after the named ones).

    Attributes
    ----------
    scheme : "kfold" (repeated K-fold) or "shuffle" (``repeats`` random splits, ``test_size``)
    test_size : float -- test fraction of patients for ``scheme="shuffle"`` (PET study: 0.3)
    unit : "roi" or "patient" -- what the metrics score (see :mod:`~neurorad.modeling.scoring`)
    inner_folds : int -- folds of the inner (tuning) CV
    n_bootstrap : int or None -- patient-bootstrap replicates (None: 1000, or 200 when fast)
    ci : float -- interval coverage
    interval : "scaled" (default) or "percentile" -- see :func:`~neurorad.modeling.scoring.summarise`
    variance_threshold, correlation_threshold, top_k : in-fold feature filters
        (:class:`~neurorad.modeling.pipelines.PreprocessOptions`)
    batch : array-like or None -- scanner/site per sample; enables in-fold harmonisation
    positive_class : label of the positive class (binary; default: the larger label)
    fast : bool -- reduced setting for quick runs: two-value grids, random forests with 60
        trees, 200 bootstrap replicates, and 3 repeats *when ``repeats`` is not given*; an
        explicit ``repeats`` (e.g. the PET study's random 70/30 splits) is always honoured
    n_permutations : int -- label-permutation test replicates (0: no test)
    permutation_repeats : int or None -- repeats per permutation run (None: as ``repeats``)
    permutation_splits : "shared" (default) or "resplit" -- the permuted runs reuse the
        observed run's outer splits (its first ``permutation_repeats`` repeats) and inner
        folds, sharing the label-free preprocessing; or each permuted label vector gets
        its own stratified splits (the earlier behaviour). See :func:`permutation_test`
    split_by_group : bool -- False splits ROIs ignoring the patient (the leaky design); the
        bootstrap still resamples patients
    rf_trees : int or None -- trees per random forest (None: 100, or 60 when fast)
    tune_rf : bool -- also tune the forests' ``min_samples_leaf`` in the inner CV (slow)
    n_jobs : int -- parallel outer splits (joblib processes)
    progress : bool -- a progress bar over the outer splits
    source : str or None -- named in error messages (e.g. the feature file)
    """

    scheme: str = "kfold"
    test_size: float = 0.3
    unit: str = "roi"
    inner_folds: int = 3
    n_bootstrap: int | None = None
    ci: float = 0.95
    interval: str = "scaled"
    variance_threshold: float = 0.0
    correlation_threshold: float | None = 0.9
    top_k: int | None = None
    batch: object = None
    positive_class: object = None
    fast: bool = False
    n_permutations: int = 0
    permutation_repeats: int | None = None
    permutation_splits: str = "shared"
    split_by_group: bool = True
    n_jobs: int = 1
    progress: bool = False
    source: str | None = None
    rf_trees: int | None = None
    tune_rf: bool = False


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    metrics : DataFrame -- ``model, metric, class, estimate, ci_low, ci_high, n_folds``;
        ``class`` is None for overall (binary / macro-averaged) rows and the class label for
        one-vs-rest rows (multi-class only)
    predictions : DataFrame -- out-of-fold predictions per sample, model and repeat:
        ``model, repeat, fold, sample, group, y_true, y_pred`` and ``p_<class>`` columns
        (classification)
    selected_features : DataFrame -- ``model, repeat, fold, feature, importance``: the features
        each fitted model used (after the in-fold filters; non-zero coefficients for LASSO
        models; ``|coef|`` or impurity importance where the model has one, else NaN)
    tests : DataFrame -- ``model, versus, class, metric, estimate, se, statistic, p_value,
        method``: fold-wise DeLong tests (binary / one-vs-rest AUC) against ``null`` and
        pairwise, and the label-permutation test (``versus="permutation"``)
    fold_metrics : DataFrame -- every metric per model, repeat and fold (``value``)
    unit_predictions : DataFrame -- the predictions at the evaluation unit (as scored)
    hyperparameters : DataFrame -- ``model, repeat, fold, params`` chosen by the inner CV
    settings : dict -- everything needed to rerun the evaluation
    """

    metrics: pd.DataFrame
    predictions: pd.DataFrame
    selected_features: pd.DataFrame
    tests: pd.DataFrame
    fold_metrics: pd.DataFrame
    unit_predictions: pd.DataFrame
    hyperparameters: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def table(self, metrics=None, digits: int = 3) -> pd.DataFrame:
        """A compact ``estimate [ci_low; ci_high]`` table, models x metrics (overall rows)."""
        m = self.metrics[self.metrics["class"].isna()]
        if metrics is not None:
            m = m[m["metric"].isin(metrics)]
        cell = m.apply(lambda r: f"{r.estimate:.{digits}f} [{r.ci_low:.{digits}f}; "
                                 f"{r.ci_high:.{digits}f}]", axis=1)
        out = m.assign(cell=cell).pivot(index="model", columns="metric", values="cell")
        order = [c for c in dict.fromkeys(m["metric"]) if c in out.columns]
        return out.loc[list(dict.fromkeys(m["model"])), order]


def _options(task: str, options: dict) -> EvaluationOptions:
    known = set(EvaluationOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"evaluate() got unknown options {unknown}; known: {sorted(known)}.")
    opts = EvaluationOptions(**options)
    if opts.unit not in ("roi", "patient"):
        raise ValueError(f"unit must be 'roi' or 'patient', got {opts.unit!r}.")
    if opts.permutation_splits not in ("shared", "resplit"):
        raise ValueError("permutation_splits must be 'shared' or 'resplit', got "
                         f"{opts.permutation_splits!r}.")
    return opts


@dataclass(frozen=True)
class _Job:
    """One outer split and the label vectors fitted on it (see :func:`_run_jobs`).

    ``keep_first``: keep the first label vector's selected features (the observed run);
    the others' are dropped before they travel back (only their predictions are scored)."""

    labels: list
    split: object
    seed: int
    strata: object = None
    keep_first: bool = True


def _fit_job(X, groups, job: _Job, specs, kwargs) -> list[list[FoldFit]]:
    per_label = fit_split_labels(X, job.labels, groups, job.split, specs, seed=job.seed,
                                 strata=job.strata, **kwargs)
    for i, fits in enumerate(per_label):
        if i > 0 or not job.keep_first:
            for f in fits:
                f.features, f.importance = f.features[:0], f.importance[:0]
    return per_label


def _fit_chunk(X, groups, chunk, specs, kwargs):
    return [_fit_job(X, groups, job, specs, kwargs) for job in chunk]


def _chunks(jobs: list[_Job], n_chunks: int) -> list[list[_Job]]:
    """Contiguous chunks of about equal work (work ~ number of label vectors)."""
    weight = np.cumsum([len(j.labels) for j in jobs])
    cuts = np.searchsorted(weight, weight[-1] * np.arange(1, n_chunks) / n_chunks,
                           side="right")
    bounds = [0, *sorted(set(cuts.tolist()) - {0, len(jobs)}), len(jobs)]
    return [jobs[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _run_jobs(X, groups, jobs: list[_Job], specs, *, task, classes, prep, opts):
    """:func:`~neurorad.modeling.fitting.fit_split_labels` on each job.

    Returns, per job, one list of fits per label vector, in the order of ``jobs``. With
    ``opts.n_jobs > 1`` the jobs run in joblib processes, in a few contiguous chunks per
    process of about equal work: ``X`` is sent once per chunk rather than once per split or
    label vector. Each job is deterministic given its split, labels and seed, so the result
    does not depend on ``n_jobs``.
    """
    kwargs = dict(task=task, classes=classes, prep_options=prep, inner_folds=opts.inner_folds,
                  grouped=opts.split_by_group, n_features=X.shape[1] -
                  (1 if prep.harmonise else 0))
    if opts.n_jobs == 1 or len(jobs) == 1:
        iterator = jobs
        if opts.progress:
            from tqdm.auto import tqdm

            iterator = tqdm(jobs, desc="outer splits")
        nested = [_fit_job(X, groups, job, specs, kwargs) for job in iterator]
    else:
        from joblib import Parallel, delayed

        chunks = _chunks(jobs, min(len(jobs), 4 * opts.n_jobs))
        per_chunk = Parallel(n_jobs=opts.n_jobs, verbose=10 if opts.progress else 0)(
            delayed(_fit_chunk)(X, groups, chunk, specs, kwargs) for chunk in chunks)
        nested = [fits for chunk in per_chunk for fits in chunk]
    n_conv = sum(f.convergence_warnings for per_job in nested for per_label in per_job
                 for f in per_label)
    if n_conv:
        warnings.warn(f"{n_conv} model fits did not fully converge (LASSO / logistic "
                      "solvers on small folds); results are still valid.", stacklevel=3)
    return nested


def _observed_and_shared_null_fits(X_fit, inputs, splits, permuted, specs, *, seed, n_shared,
                                   **run):
    """Fits of the observed labels on every split and, with ``permuted`` vectors, theirs on
    the splits of the first ``n_shared`` repeats (the shared-partition permutation test:
    one job per split fits the observed and the permuted labels together).

    Returns ``(observed fits in split order, per permuted vector its list of fits)``."""
    null_fits = [[] for _ in permuted]
    by_split = {}
    if permuted:
        started = time.perf_counter(), time.process_time()
        first = [s for s in splits if s.repeat < n_shared]
        jobs, where = _shared_jobs(inputs.y, permuted, first, seed, run["opts"].n_jobs)
        nested = _run_jobs(X_fit, inputs.groups, jobs, specs, **run)
        for (split_index, offset), per_label in zip(where, nested):
            for k, per_model in enumerate(per_label):
                label = offset + k                  # 0: observed, i + 1: permutation i
                if label == 0:
                    by_split[split_index] = per_model
                else:
                    null_fits[label - 1] += per_model
        _log_timing("permutations", started, n_permutations=len(permuted),
                    shared_splits=len(first))
    rest = [i for i in range(len(splits)) if i not in by_split]
    nested = _run_jobs(X_fit, inputs.groups, [_Job([inputs.y], splits[i], seed) for i in rest],
                       specs, **run) if rest else []
    by_split.update({i: per_job[0] for i, per_job in zip(rest, nested)})
    return [f for i in range(len(splits)) for f in by_split[i]], null_fits


def _prediction_table(fits: list[FoldFit], inputs, task: str) -> pd.DataFrame:
    frames = []
    for f in fits:
        frame = pd.DataFrame({"model": f.model, "repeat": f.repeat, "fold": f.fold,
                              "sample": inputs.sample_ids[f.test],
                              "group": inputs.groups[f.test], "y_true": inputs.y[f.test],
                              "y_pred": f.predicted})
        if task == "classification":
            for k, c in enumerate(inputs.classes):
                frame[f"p_{c}"] = f.proba[:, k]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _unit_table(unit_folds, patient_ids, classes, task) -> pd.DataFrame:
    frames = []
    for u in unit_folds:
        frame = pd.DataFrame({"model": u.model, "repeat": u.repeat, "fold": u.fold,
                              "group": patient_ids[u.patients], "y_true": u.y,
                              "y_pred": u.predicted})
        if task == "classification":
            for k, c in enumerate(classes):
                frame[f"p_{c}"] = u.proba[:, k]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _feature_table(fits, names) -> pd.DataFrame:
    rows = [(f.model, f.repeat, f.fold, names[j], imp)
            for f in fits for j, imp in zip(f.features, f.importance)]
    return pd.DataFrame(rows, columns=["model", "repeat", "fold", "feature", "importance"])


def evaluate(X, y, *, groups=None, task: str = "classification", models=None,
             outer_folds: int = 5, repeats: int | None = None, seed: int = 0,
             **options) -> EvaluationResult:
    """Nested, repeated, patient-grouped cross-validation of several models.

    Parameters
    ----------
    X : DataFrame or array (n_samples, n_features) -- numeric features, NaN allowed
        (imputed in-fold); one row per ROI (or per patient)
    y : array-like (n_samples,) -- class labels or a continuous target
    groups : array-like or None -- patient id per row; ROIs of one patient never straddle a
        training/test split, and the bootstrap resamples patients
    task : "classification" or "regression"
    models : sequence of model names (default: ``null, lasso_lr, svm, rf`` for
        classification, ``null, lasso, svr, rf`` for regression)
    outer_folds, repeats : outer CV design (``repeats`` random splits for scheme="shuffle");
        ``repeats=None``: 10, or 3 with ``fast=True``. A given ``repeats`` is never changed.
    seed : int -- the whole evaluation is a deterministic function of the seed
    **options : see :class:`EvaluationOptions`

    Returns
    -------
    EvaluationResult

    Notes
    -----
    Every data-dependent step (imputation, harmonisation, variance / correlation filters,
    univariate top-k, scaling) is fitted on the training part of each outer fold; the
    hyper-parameters are chosen by an inner CV on that training part only (nested CV; Varma &
    Simon, BMC Bioinformatics 7:91, 2006). Metrics are computed per outer test fold and
    averaged, so that a target unrelated to the features scores at chance (AUC 0.5, rho 0);
    intervals come from a patient-level bootstrap of that same estimator.

    Examples
    --------
    Two classes 2 SD apart on three features, one subject per row:

    >>> import numpy as np
    >>> from neurorad.modeling.evaluate import evaluate
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["a", "b"], 20)
    >>> X = rng.normal(size=(40, 3)) + 2.0 * (y == "b")[:, None]
    >>> result = evaluate(X, y, groups=np.arange(40), models=["null", "lasso_lr"],
    ...                   outer_folds=4, repeats=1, seed=0, fast=True, n_bootstrap=50)
    >>> auc = result.metrics.query("metric == 'roc_auc'").set_index("model").estimate
    >>> bool(auc["lasso_lr"] > 0.9), float(auc["null"])
    (True, 0.5)
    """
    opts = _options(task, options)
    inputs = check_inputs(X, y, groups, task, opts.source)
    models = tuple(models or (model_names(task) if task in ("classification", "regression")
                              else ()))
    if repeats is None:
        repeats = 3 if opts.fast else 10
    n_bootstrap = opts.n_bootstrap if opts.n_bootstrap is not None else \
        (200 if opts.fast else 1000)
    split_units = inputs.groups if opts.split_by_group else np.arange(len(inputs.y))
    n_check = outer_folds if opts.scheme == "kfold" else 2
    check_fold_feasibility(inputs.y, split_units, task, n_check, opts.source,
                           "outer_folds" if opts.scheme == "kfold" else "a random split")
    check_training_size(split_units, scheme=opts.scheme, outer_folds=outer_folds,
                        test_size=opts.test_size, source=opts.source)
    if opts.unit == "patient":
        patient_labels(inputs.y, inputs.groups, task, opts.source)
    classes = inputs.classes
    positive = None
    if task == "classification" and len(classes) == 2:
        positive = classes[1] if opts.positive_class is None else opts.positive_class
        if positive not in set(classes):
            raise ValueError(f"positive_class {positive!r} is not one of the classes "
                             f"{list(classes)}.")
    specs = [make_model(m, task, 0 if classes is None else len(classes), seed, opts.fast,
                        opts.rf_trees, opts.tune_rf) for m in models]
    prep = PreprocessOptions(opts.variance_threshold, opts.correlation_threshold, opts.top_k,
                             harmonise=opts.batch is not None)
    X_fit = _with_batch_column(inputs.X, opts.batch, opts.source)

    splits = outer_splits(inputs.y, split_units, task=task, scheme=opts.scheme,
                          outer_folds=outer_folds, repeats=repeats, test_size=opts.test_size,
                          seed=seed, grouped=opts.split_by_group)
    run = dict(task=task, classes=classes, prep=prep, opts=opts)
    shared = bool(opts.n_permutations) and opts.permutation_splits == "shared"
    permuted = _permuted_vectors(inputs, opts, seed)
    fits, null_fits = _observed_and_shared_null_fits(
        X_fit, inputs, splits, permuted if shared else [], specs, seed=seed,
        n_shared=min(opts.permutation_repeats or repeats, repeats) if shared else 0, **run)

    patient_ids, patient_codes = np.unique(inputs.groups, return_inverse=True)
    unit_folds = [to_units(f, inputs.y, patient_codes, task, classes, opts.unit) for f in fits]
    counts = bootstrap_counts(len(patient_ids), n_bootstrap, [seed, 104729])
    jack = jackknife_weights(len(patient_ids), seed=[seed, 1299709])
    ratio = np.mean([len(np.unique(inputs.groups[s.test])) /
                     len(np.unique(inputs.groups[s.train])) for s in splits])
    metrics, per_fold = summarise(unit_folds, counts, jack, task, classes, positive, opts.ci,
                                  opts.interval, ratio)
    tests = delong_table(unit_folds, classes, positive) if task == "classification" \
        else pd.DataFrame(columns=TEST_COLUMNS)
    if opts.n_permutations:
        started = time.perf_counter(), time.process_time()
        if not shared:
            null_fits = _resplit_null_fits(inputs, permuted, specs=specs, X_fit=X_fit,
                                           outer_folds=outer_folds,
                                           repeats=opts.permutation_repeats or repeats,
                                           seed=seed, **run)
        perm = permutation_test(
            inputs, permuted, null_fits, task=task, opts=opts,
            observed=headline_statistic(unit_folds, task, classes, positive),
            classes=classes, positive=positive)
        tests = pd.concat([t for t in (tests, perm) if len(t)], ignore_index=True)
        if not shared:
            _log_timing("permutations", started, n_permutations=opts.n_permutations)
    settings = {"task": task, "models": list(models), "outer_folds": outer_folds,
                **{k: v for k, v in asdict(replace(opts, batch=None)).items()},
                "repeats": repeats, "seed": seed, "n_bootstrap": n_bootstrap,
                "positive_class": positive, "harmonised": opts.batch is not None}
    hyper = pd.DataFrame([{"model": f.model, "repeat": f.repeat, "fold": f.fold,
                           "params": f.params} for f in fits])
    return EvaluationResult(metrics, _prediction_table(fits, inputs, task),
                            _feature_table(fits, inputs.feature_names), tests, per_fold,
                            _unit_table(unit_folds, patient_ids, classes, task), hyper,
                            settings)


#: Environment variable naming a file that receives one JSON line per timed evaluation
#: stage (``benchmarks/bench_studies.py`` sets it to split a notebook's modelling time).
TIMING_LOG = "NEURORAD_TIMING_LOG"


def _log_timing(stage: str, started, **info) -> None:
    """Append ``{"stage", "at" (end, Unix time), "wall_s", "driver_cpu_s", **info}`` to
    ``$NEURORAD_TIMING_LOG``."""
    path = os.environ.get(TIMING_LOG)
    if not path:
        return
    record = {"stage": stage, "at": time.time(), "wall_s": time.perf_counter() - started[0],
              "driver_cpu_s": time.process_time() - started[1], **info}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def _with_batch_column(X, batch, source):
    """Append batch codes as the last column (read and dropped by the harmoniser)."""
    if batch is None:
        return X
    batch = np.asarray(batch)
    if batch.shape != (len(X),):
        raise ValueError(f"{source + ': ' if source else ''}`batch` has shape {batch.shape}; "
                         f"expected ({len(X)},).")
    if pd.isna(batch).any():
        raise ValueError(f"{source + ': ' if source else ''}`batch` is missing for "
                         f"{int(pd.isna(batch).sum())} samples.")
    codes = np.unique(batch, return_inverse=True)[1].astype(float)
    return np.column_stack([X, codes])


def _permuted_vectors(inputs, opts, seed) -> list[np.ndarray]:
    """The ``opts.n_permutations`` patient-level permutations of the labels (one stream per
    seed, the same for both ``permutation_splits`` modes)."""
    rng = np.random.default_rng([seed, 15485863])
    return [permuted_labels(inputs.y, inputs.groups, rng) for _ in range(opts.n_permutations)]


def _shared_jobs(y, permuted, splits, seed, n_jobs):
    """Jobs of the shared-partition permutation test: per split, the observed labels and all
    permutations (in ``m`` consecutive batches of label vectors when there are fewer splits
    than ``2 * n_jobs``, so that every process has work; each batch fits the label-free
    preprocessing once). Returns the jobs and, per job, ``(split index, offset of its first
    label vector; 0 = observed)``."""
    vectors = [y] + list(permuted)
    m = 1
    if n_jobs > 1:
        while len(splits) * m < 2 * n_jobs or (len(splits) * m) % n_jobs:
            if m >= len(vectors):
                break
            m += 1
    bounds = np.linspace(0, len(vectors), m + 1).round().astype(int)
    jobs, where = [], []
    for index, split in enumerate(splits):
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b > a:
                jobs.append(_Job(vectors[a:b], split, seed, strata=y, keep_first=a == 0))
                where.append((index, int(a)))
    return jobs, where


def _resplit_null_fits(inputs, permuted, *, specs, X_fit, outer_folds, repeats, seed, task,
                       classes, prep, opts) -> list[list[FoldFit]]:
    """``permutation_splits="resplit"``: each permuted label vector ``i`` gets its own
    stratified outer and inner splits (seed ``seed + 1 + i``) and the whole nested
    validation; all its splits go to one batch of jobs."""
    split_units = inputs.groups if opts.split_by_group else np.arange(len(inputs.y))
    jobs, owner = [], []
    for i, y_perm in enumerate(permuted):
        splits = outer_splits(y_perm, split_units, task=task, scheme=opts.scheme,
                              outer_folds=outer_folds, repeats=repeats,
                              test_size=opts.test_size, seed=seed + 1 + i,
                              grouped=opts.split_by_group)
        jobs += [_Job([y_perm], s, seed + 1 + i) for s in splits]
        owner += [i] * len(splits)
    nested = _run_jobs(X_fit, inputs.groups, jobs, specs, task=task, classes=classes,
                       prep=prep, opts=replace(opts, progress=False))
    null_fits = [[] for _ in permuted]
    for i, per_job in zip(owner, nested):
        null_fits[i] += per_job[0]
    return null_fits


def permutation_test(inputs, permuted, null_fits, *, task, opts, observed, classes,
                     positive) -> pd.DataFrame:
    r"""Label-permutation p-value of each model's headline metric.

    The nested validation (tuning, filters, fitting) is rerun on patient-level permutations
    of the labels (:func:`~neurorad.modeling.splits.permuted_labels`); the statistic is the
    fold-averaged ROC AUC (macro for multi-class) or Spearman rho.
    :math:`p = (1 + \#\{T_\pi \ge T\}) / (1 + N)` (Phipson & Smyth 2010). With
    ``permutation_repeats < repeats`` the observed statistic averages more repeats than the
    permuted ones; that makes the test conservative.

    Parameters
    ----------
    inputs : checked inputs of :func:`evaluate`
    permuted : list of the ``N`` permuted label vectors
    null_fits : list (one per permuted vector) of its fits on every outer split it was run on
    observed : dict model -> observed statistic

    Notes
    -----
    Two designs (``EvaluationOptions.permutation_splits``):

    ``"shared"`` (default)
        Every permuted label vector is validated on the *same* outer splits as the observed
        labels (the first ``permutation_repeats`` repeats) and the same inner folds -- the
        fixed-partition design of scikit-learn's ``permutation_test_score`` (Ojala &
        Garriga, JMLR 11:1833, 2010). The label-free preprocessing is then fitted once per
        training set and shared by all ``N + 1`` label vectors
        (:func:`~neurorad.modeling.fitting.fit_split_labels`): same estimates as rerunning
        the straightforward procedure per permutation on those splits, far cheaper. The
        partitions are stratified (and the feasible number of inner folds chosen) on the
        *observed* labels, not on each permuted vector, so the observed and the permuted
        runs are not exactly exchangeable: a permuted vector's folds are as unbalanced as a
        random partition makes them. A permuted training set with a single class (possible
        on these partitions, never for the observed labels) is fitted as the null model.
        The p-value's calibration under the null was measured
        (``benchmarks/bench_permutations.py --calibration``, ``benchmarks/RESULTS.md``).
    ``"resplit"``
        Each permuted vector gets its own stratified outer and inner splits (seed
        ``seed + 1 + i``), i.e. the whole procedure including the partition is rerun;
        exchangeable with the observed run, but nothing can be shared (each training set
        differs), so it costs a full nested validation per permutation.
    """
    patient_ids, patient_codes = np.unique(inputs.groups, return_inverse=True)
    null_stats = {model: [] for model in observed}
    for y_perm, fits in zip(permuted, null_fits):
        units = [to_units(f, y_perm, patient_codes, task, classes, opts.unit) for f in fits]
        for model, value in headline_statistic(units, task, classes, positive).items():
            null_stats[model].append(value)
    metric = "spearman_rho" if task == "regression" else "roc_auc"
    design = "shared splits" if opts.permutation_splits == "shared" else "own splits"
    rows = []
    for model, values in null_stats.items():
        values = np.asarray(values)
        exceed = np.sum(values >= observed[model] - 1e-12)
        rows.append({"model": model, "versus": "permutation", "class": None, "metric": metric,
                     "estimate": observed[model], "se": float(np.nanstd(values)),
                     "statistic": float(np.nanmean(values)),
                     "p_value": (1 + exceed) / (1 + len(values)),
                     "method": f"label permutation (patient level, {len(values)} permutations,"
                               f" {design}; statistic = mean permuted value)"})
    return pd.DataFrame(rows)


def leakage_contrast(X, y, *, groups, task: str = "classification", models=None,
                     outer_folds: int = 5, repeats: int | None = None, seed: int = 0,
                     **options) -> tuple[pd.DataFrame, dict[str, EvaluationResult]]:
    """The same evaluation with patient-grouped and with ROI-level (leaky) splits.

    Both use the same seed, models and options; only ``split_by_group`` differs (the
    bootstrap resamples patients in both, so the intervals are comparable).

    Returns
    -------
    metrics : DataFrame -- both metric tables stacked, with a ``split`` column
        (``"grouped"`` / ``"ungrouped"``)
    results : dict -- ``{"grouped": EvaluationResult, "ungrouped": EvaluationResult}``
    """
    if groups is None:
        raise ValueError("leakage_contrast needs `groups` (the patient of each ROI).")
    options.pop("split_by_group", None)
    results = {}
    for name, by_group in (("grouped", True), ("ungrouped", False)):
        results[name] = evaluate(X, y, groups=groups, task=task, models=models,
                                 outer_folds=outer_folds, repeats=repeats, seed=seed,
                                 split_by_group=by_group, **options)
    metrics = pd.concat([r.metrics.assign(split=name) for name, r in results.items()],
                        ignore_index=True)
    return metrics, results
