"""The label-permutation test: old design (own splits per permutation) vs shared partitions.

    .venv/bin/python benchmarks/bench_permutations.py [--permutations B] [--rows 645]
        [--features 11660] [--survivors 2000] [--models null lasso_lr svm rf]
    .venv/bin/python benchmarks/bench_permutations.py --calibration [--datasets 300]
        [--calibration-permutations 19] [--n-jobs 2]

**Timing** (default). A DAI-sized synthetic matrix (by default 645 ROIs of 43 subjects x
11 660 features in correlated blocks, of which about 2 000 survive the in-fold |r| > 0.9
correlation filter; labels unrelated to the features) is evaluated as the DAI diagnosis task
is (4 models, 3-fold inner tuning, grouped 5-fold CV, one repeat) three times in this process,
``n_jobs=1``:

a. without permutations (the observed run alone),
b. with ``B`` permutations, ``permutation_splits="resplit"`` (each permuted label vector gets
   its own stratified splits and the whole nested validation) and libsvm computing the SVM
   kernel in every fit: the code path before shared partitions and shared distances,
c. with ``B`` permutations, ``permutation_splits="shared"`` (the observed splits; label-free
   preprocessing fitted once per training set, only the models refitted per label vector).

The permutations' cost is ``b - a`` and ``c - a`` in process CPU seconds; printed per
permutation and as the ratio old / new. The observed metrics of a and c are checked to be
identical (b's differ from them by the SVM's ~1e-15 rounding, printed).

**Profile** (``--profile``). CPU seconds of one outer split per model and label vector
after the sharing, on the DAI-sized matrix (classification, ~516 training rows) and on a
PET-sized one (regression, 40 x 1 198, a 70/30 split: 28 training rows): for each model
alone, ``(T(11 label vectors) - T(1)) / 10`` of ``fit_split_labels`` (the
shared preprocessing cancels; the SVM also with libsvm computing its kernel in every fit), and the shared preprocessing of the split (outer + 3 inner training
sets).

**Calibration** (``--calibration``). ``--datasets`` null data sets (20 patients x 2 ROIs,
8 / 12 patients per class, 10 features with a patient effect, independent of the labels),
each evaluated with grouped 5-fold CV (one repeat), the fast grid of L1 logistic regression
(``--calibration-models``: also e.g. ``svm``, about twice the cost) and
``--calibration-permutations`` shared-partition permutations. Under the
null a valid test gives ``P(p <= 0.05) <= 0.05`` and ``P(p <= 0.10) <= 0.10``; the fractions
are printed with their binomial standard errors.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np

from neurorad.modeling import evaluate


def dai_like(rows: int, subjects: int, features: int, survivors: int, seed: int = 0):
    """Synthetic matrix: ``survivors`` independent base columns, every other column a base
    column plus 10 % noise (|r| ~ 0.995, removed by the correlation filter); subject effect
    on every base column; binary labels per subject (unrelated to the features)."""
    rng = np.random.default_rng(seed)
    groups = np.arange(rows) % subjects
    base = rng.normal(size=(subjects, survivors))[groups] + rng.normal(size=(rows, survivors))
    parent = rng.integers(0, survivors, size=features - survivors)
    copies = base[:, parent] + 0.1 * rng.normal(size=(rows, features - survivors))
    X = np.empty((rows, features))
    order = rng.permutation(features)
    X[:, order[:survivors]] = base
    X[:, order[survivors:]] = copies
    labels = rng.permutation(np.resize([0, 1], subjects))[groups]
    return X, labels, groups


def _cpu_run(X, y, groups, **kw):
    start = time.process_time()
    res = evaluate(X, y, groups=groups, **kw)
    return time.process_time() - start, res


def timing(args) -> None:
    X, y, groups = dai_like(args.rows, args.subjects, args.features, args.survivors)
    kw = dict(models=tuple(args.models), outer_folds=5, repeats=1, seed=0, n_bootstrap=50,
              n_jobs=1)
    print(f"matrix {X.shape[0]} x {X.shape[1]}, {args.subjects} subjects; models "
          f"{', '.join(args.models)}; B = {args.permutations} permutations; load "
          f"{os.getloadavg()[0]:.2f}")
    a, ra = _cpu_run(X, y, groups, **kw)
    print(f"a. observed run alone:          {a:8.1f} s CPU", flush=True)
    with _libsvm_kernel():
        b, rb = _cpu_run(X, y, groups, n_permutations=args.permutations,
                         permutation_splits="resplit", **kw)
    print(f"b. + B permutations, resplit, libsvm kernel (before): {b:8.1f} s CPU", flush=True)
    c, rc = _cpu_run(X, y, groups, n_permutations=args.permutations,
                     permutation_splits="shared", **kw)
    print(f"c. + B permutations, shared, shared SVM distances:   {c:8.1f} s CPU", flush=True)
    assert rc.metrics.equals(ra.metrics), "observed metrics differ"
    gap = (rb.metrics.estimate - ra.metrics.estimate).abs().max()
    print(f"observed metrics: a = c exactly; a vs b (libsvm kernel) differ by <= {gap:.1e}")
    old, new = (b - a) / args.permutations, (c - a) / args.permutations
    print(f"CPU s per permutation: before (b) {old:.2f}, shared (c) {new:.2f}; "
          f"ratio = {old / new:.1f}")
    print(f"at 99 permutations (one 5-fold repeat) this task's permutations: before "
          f"~{99 * old:.0f} s CPU, shared ~{99 * new:.0f} s CPU; load "
          f"{os.getloadavg()[0]:.2f}")


def _cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


@contextlib.contextmanager
def _libsvm_kernel():
    """Switch off the SVM's shared squared distances (libsvm computes its kernel)."""
    from neurorad.modeling import fitting

    saved = fitting._Design.extra
    fitting._Design.extra = lambda self, estimator: ({}, {})
    try:
        yield
    finally:
        fitting._Design.extra = saved


def profile(args) -> None:
    from neurorad.modeling.fitting import _SharedFold, fit_split_labels, inner_splits
    from neurorad.modeling.models import make_model
    from neurorad.modeling.pipelines import PreprocessOptions
    from neurorad.modeling.splits import outer_splits, permuted_labels

    X, y, groups = dai_like(args.rows, args.subjects, args.features, args.survivors)
    rng = np.random.default_rng(1)
    pet_x = rng.normal(size=(40, 1198))
    pet_y = rng.normal(size=40)
    cases = [("DAI-sized classification", X, y, groups, "classification", "kfold",
              ("null", "lasso_lr", "svm", "rf")),
             ("PET-sized regression", pet_x, pet_y, np.arange(40), "regression", "shuffle",
              ("null", "lasso", "svr", "rf"))]
    print(f"load {os.getloadavg()[0]:.2f}")
    for name, X, y, groups, task, scheme, models in cases:
        split = outer_splits(y, groups, task=task, scheme=scheme, outer_folds=5, repeats=1,
                             seed=0)[0]
        labels = [y] + [permuted_labels(y, groups, rng) for _ in range(10)]
        classes = np.unique(y) if task == "classification" else None
        kw = dict(task=task, classes=classes, prep_options=PreprocessOptions(),
                  inner_folds=3, seed=0, grouped=True, n_features=X.shape[1])
        Xt = X[split.train]
        inner = inner_splits(y[split.train], groups[split.train], task=task, inner_folds=3,
                             seed=0, grouped=True)
        prep = _cpu(lambda: [_SharedFold(Xt, X[split.test], task, kw["prep_options"])] +
                    [_SharedFold(Xt[s.train], Xt[s.test], task, kw["prep_options"])
                     for s in inner])
        def per_label(spec):
            """(T(11 label vectors) - T(1)) / 10."""
            return (_cpu(lambda: fit_split_labels(X, labels, groups, split, spec, **kw))
                    - _cpu(lambda: fit_split_labels(X, labels[:1], groups, split, spec,
                                                    **kw))) / 10

        print(f"{name}: {len(split.train)} training rows x {X.shape[1]} features; shared "
              f"preprocessing of the split (outer + {len(inner)} inner): {prep:.2f} s CPU")
        for model in models:
            spec = [make_model(model, task, 0 if classes is None else len(classes), 0)]
            print(f"  {model:9s} {per_label(spec):6.3f} s CPU per label vector", flush=True)
            if model == "svm":
                with _libsvm_kernel():
                    print(f"  {'svm*':9s} {per_label(spec):6.3f} s CPU per label vector "
                          "(* libsvm computing the kernel in every fit, as before)")


def _null_p_values(seed: int, n_permutations: int, models) -> dict:
    rng = np.random.default_rng([seed, 777])
    patients, per_patient, n_features = 20, 2, 10
    groups = np.repeat(np.arange(patients), per_patient)
    X = (rng.normal(size=(patients, n_features))[groups]
         + rng.normal(size=(len(groups), n_features)))
    y = rng.permutation(np.r_[np.zeros(8, int), np.ones(12, int)])[groups]
    res = evaluate(X, y, groups=groups, models=tuple(models), outer_folds=5, repeats=1,
                   seed=seed, fast=True, n_bootstrap=1, n_permutations=n_permutations,
                   permutation_splits="shared")
    perm = res.tests.query("versus == 'permutation'")
    return dict(zip(perm["model"], perm["p_value"]))


def calibration(args) -> None:
    from joblib import Parallel, delayed

    start, cpu = time.perf_counter(), time.process_time()
    print(f"{args.datasets} null data sets, {args.calibration_permutations} shared-partition "
          f"permutations each; load {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    results = Parallel(n_jobs=args.n_jobs, return_as="generator")(
        delayed(_null_p_values)(s, args.calibration_permutations, args.calibration_models)
        for s in range(args.datasets))
    for row in results:                 # in order; one line per data set (partial results)
        rows.append(row)
        print(f"data set {len(rows) - 1}: " + ", ".join(f"{m} p = {p:.3f}"
                                                      for m, p in row.items()), flush=True)
    _calibration_summary(rows, args.calibration_permutations)
    print(f"wall {time.perf_counter() - start:.0f} s; driver CPU "
          f"{time.process_time() - cpu:.0f} s; load {os.getloadavg()[0]:.2f}")


def _calibration_summary(rows, n_permutations) -> None:
    for model in rows[0]:
        p = np.array([r[model] for r in rows])
        for alpha in (0.05, 0.10):
            rate = float(np.mean(p <= alpha + 1e-12))
            se = np.sqrt(alpha * (1 - alpha) / len(p))
            print(f"{model:9s} P(p <= {alpha:.2f}) = {rate:.3f} over {len(p)} data sets "
                  f"(nominal {alpha:.2f}, binomial SE {se:.3f}, z = {(rate - alpha) / se:+.2f})")
        print(f"{model:9s} mean p = {p.mean():.3f} (uniform on k/(B+1): "
              f"{0.5 + 0.5 / (n_permutations + 1):.3f})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--permutations", type=int, default=2)
    parser.add_argument("--rows", type=int, default=645)
    parser.add_argument("--subjects", type=int, default=43)
    parser.add_argument("--features", type=int, default=11660)
    parser.add_argument("--survivors", type=int, default=2000)
    parser.add_argument("--models", nargs="+", default=["null", "lasso_lr", "svm", "rf"])
    parser.add_argument("--calibration", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--datasets", type=int, default=300)
    parser.add_argument("--calibration-permutations", type=int, default=19)
    parser.add_argument("--calibration-models", nargs="+", default=["lasso_lr"])
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.profile:
        profile(args)
    elif args.calibration:
        calibration(args)
    else:
        timing(args)


if __name__ == "__main__":
    main()
