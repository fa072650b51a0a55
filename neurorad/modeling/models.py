"""The model registry: every model ``evaluate`` can fit, with its estimator, grid and labels.

:data:`MODELS` maps a task (``classification`` / ``regression``) to its models by name.
:func:`neurorad.modeling.evaluate` builds its candidates from here (:func:`make_model`),
the report tables and the methods paragraph take the models' labels from here, the study
notebooks keep the ``quick`` models in quick mode and the command line checks model names
against it. Adding a model is one builder function and one :class:`Model` entry
(``docs/architecture.md``, "How to add a model").

Every grid is ordered from simple to complex (ties in the inner CV pick the first, i.e. the
most regularised). Random forests are used with fixed, default-like settings (100 trees, or
60 when ``fast``; square-root / one-third feature sampling) unless ``tune_rf``: forests are
the least tunable of these models (Probst, Wright & Boulesteix, WIREs DMKD 2019) and the
most expensive to refit, so an inner grid over them dominates the runtime for little gain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sklearn
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from neurorad.modeling.pipelines import CalibratedSVC, ModelSpec

TASKS = ("classification", "regression")

# scikit-learn 1.8 replaced `penalty="l1"` by `l1_ratio=1`; support both.
_L1_PENALTY = ({"l1_ratio": 1.0} if tuple(int(v) for v in sklearn.__version__.split(".")[:2])
               >= (1, 8) else {"penalty": "l1"})


@dataclass(frozen=True)
class BuildOptions:
    """What a builder may use: classes of the target, seed, reduced grids, forest size."""

    n_classes: int
    seed: int
    fast: bool = False
    trees: int = 100
    tune_rf: bool = False


@dataclass(frozen=True)
class Model:
    """One model of the registry.

    name
        What ``evaluate(models=...)`` and the notebooks' ``models`` parameter take.
    task
        ``classification`` or ``regression``.
    label
        Short name for tables and captions.
    description
        Phrase for the methods paragraph ("a random forest").
    build
        ``build(options: BuildOptions) -> (estimator, grid, tuning_params)``.
    sparse
        The fitted model selects features (non-zero coefficients are its selection).
    quick
        Kept in the notebooks' quick (smoke-test) mode.
    """

    name: str
    task: str
    label: str
    description: str
    build: Callable[[BuildOptions], tuple]
    sparse: bool = False
    quick: bool = False


def _grid(param: str, values) -> list[dict]:
    return [{param: v} for v in values]


def _null_classifier(o: BuildOptions):
    return DummyClassifier(strategy="prior"), [], {}


def _lasso_lr(o: BuildOptions):
    # L1 logistic regression, liblinear; one-vs-rest for > 2 classes.
    base = LogisticRegression(solver="liblinear", class_weight="balanced",
                              random_state=o.seed, max_iter=2000, **_L1_PENALTY)
    est = base if o.n_classes == 2 else OneVsRestClassifier(base)
    prefix = "" if o.n_classes == 2 else "estimator__"
    values = (0.1, 1.0) if o.fast else (0.05, 0.2, 1.0, 5.0)
    return est, _grid(prefix + "C", values), {}


def _svm(o: BuildOptions):
    # RBF SVC with Platt probabilities; inner-CV fits skip the calibration.
    values = (0.3, 3.0) if o.fast else (0.1, 1.0, 10.0)
    return CalibratedSVC(random_state=o.seed), _grid("C", values), {"calibrate": False}


def _rf_classifier(o: BuildOptions):
    est = RandomForestClassifier(n_estimators=o.trees, class_weight="balanced",
                                 random_state=o.seed, n_jobs=1)
    return est, _grid("min_samples_leaf", (3, 1)) if o.tune_rf else [], {}


def _null_regressor(o: BuildOptions):
    return DummyRegressor(strategy="mean"), [], {}


def _lasso(o: BuildOptions):
    # A standardised target: one grid fits any target scale.
    est = TransformedTargetRegressor(Lasso(max_iter=5000, random_state=o.seed),
                                     transformer=StandardScaler())
    values = (0.3, 0.1) if o.fast else (0.5, 0.2, 0.1, 0.03)
    return est, _grid("regressor__alpha", values), {}


def _svr(o: BuildOptions):
    est = TransformedTargetRegressor(SVR(kernel="rbf"), transformer=StandardScaler())
    values = (0.3, 3.0) if o.fast else (0.1, 1.0, 10.0)
    return est, _grid("regressor__C", values), {}


def _rf_regressor(o: BuildOptions):
    est = RandomForestRegressor(n_estimators=o.trees, random_state=o.seed, n_jobs=1,
                                max_features=0.33)
    return est, _grid("min_samples_leaf", (3, 1)) if o.tune_rf else [], {}


_ALL = (
    # Classification: all with class_weight="balanced" against imbalance.
    Model("null", "classification", "Null model",
          "a model without predictors (null model)", _null_classifier, quick=True),
    Model("lasso_lr", "classification", "LASSO logistic regression",
          "logistic regression with LASSO penalty", _lasso_lr, sparse=True, quick=True),
    Model("svm", "classification", "SVM", "a support vector machine (RBF kernel)", _svm),
    Model("rf", "classification", "Random forest", "a random forest", _rf_classifier),
    Model("null", "regression", "Null model", "a model without predictors (null model)",
          _null_regressor, quick=True),
    Model("lasso", "regression", "LASSO regression", "linear regression with LASSO penalty",
          _lasso, sparse=True, quick=True),
    Model("svr", "regression", "SVR", "support vector regression (RBF kernel)", _svr),
    Model("rf", "regression", "Random forest", "a random forest", _rf_regressor),
)

#: Task -> model name -> Model, in the order ``evaluate`` fits and reports them.
MODELS: dict[str, dict[str, Model]] = {
    task: {m.name: m for m in _ALL if m.task == task} for task in TASKS}


def model_names(task: str) -> tuple[str, ...]:
    """Names of the models of ``task`` (the default of ``evaluate(models=...)``)."""
    return tuple(_models_of(task))


def _models_of(task: str) -> dict[str, Model]:
    if task not in MODELS:
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    return MODELS[task]


def get_model(name: str, task: str) -> Model:
    """The registry entry of ``name`` for ``task``; ValueError naming the choices."""
    models = _models_of(task)
    if name not in models:
        raise ValueError(f"unknown {task} model {name!r}; choose from {tuple(models)}.")
    return models[name]


def labels(kind: str = "label") -> dict[str, str]:
    """Model name -> ``label`` (tables) or ``description`` (methods), over both tasks."""
    return {m.name: getattr(m, kind) for m in _ALL}


def quick_models() -> tuple[str, ...]:
    """Names of the models kept in the notebooks' quick (smoke-test) mode."""
    return tuple(dict.fromkeys(m.name for m in _ALL if m.quick))


def is_known(name: str) -> bool:
    """Whether any task has a model ``name``."""
    return any(name in models for models in MODELS.values())


def make_model(name: str, task: str, n_classes: int, seed: int, fast: bool = False,
               rf_trees: int | None = None, tune_rf: bool = False) -> ModelSpec:
    """The estimator and inner-CV grid of the registered model ``name`` for ``task``.

    Examples
    --------
    >>> spec = make_model("lasso_lr", "classification", n_classes=2, seed=0, fast=True)
    >>> spec.name, spec.grid
    ('lasso_lr', [{'C': 0.1}, {'C': 1.0}])
    """
    model = get_model(name, task)
    options = BuildOptions(n_classes, seed, fast, rf_trees or (60 if fast else 100), tune_rf)
    estimator, grid, tuning_params = model.build(options)
    return ModelSpec(name, estimator, grid, tuning_params)


__all__ = ["MODELS", "TASKS", "BuildOptions", "Model", "get_model", "is_known", "labels",
           "make_model", "model_names", "quick_models"]
