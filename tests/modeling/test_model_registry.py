"""The model registry is the one list of models: evaluate, the reports' labels and the
notebooks' quick mode read it, and a model added to it is fitted by evaluate."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from neurorad.modeling import evaluate
from neurorad.modeling import models as registry
from neurorad.modeling.models import MODELS, Model, get_model, make_model, model_names


@pytest.mark.parametrize("task,name", [(t, n) for t in MODELS for n in MODELS[t]])
def test_every_registered_model_builds_a_clonable_estimator_and_grid(task, name):
    spec = make_model(name, task, n_classes=3, seed=0, fast=True)
    assert spec.name == name
    clone(spec.estimator)
    for point in spec.grid:
        clone(spec.estimator).set_params(**point)  # every grid key is a real parameter


def test_lookup_errors_name_the_choices():
    with pytest.raises(ValueError, match=r"unknown classification model 'xgb'.*'lasso_lr'"):
        get_model("xgb", "classification")
    with pytest.raises(ValueError, match="task must be"):
        model_names("survival")


def test_labels_and_quick_models_come_from_the_registry():
    from neurorad.reports.format import MODEL_LABELS
    from neurorad.reports.methods import MODEL_LABELS as METHOD_LABELS

    names = {n for task in MODELS.values() for n in task}
    assert set(METHOD_LABELS) == names
    # Report tables also name the grading study's networks (trained outside evaluate).
    assert set(MODEL_LABELS) - names == {"densenet3d", "resnest2d"}
    assert all(MODEL_LABELS[n] == registry.labels()[n] for n in names)
    assert registry.quick_models() == ("null", "lasso_lr", "lasso")
    assert model_names("regression") == ("null", "lasso", "svr", "rf")


def test_a_model_added_to_the_registry_is_fitted_by_evaluate(monkeypatch):
    """The recipe of docs/architecture.md: one builder + one entry, nothing else."""
    def ridge_lr(o):
        est = LogisticRegression(C=1.0, class_weight="balanced", random_state=o.seed)
        return est, [{"C": 0.1}, {"C": 1.0}], {}

    entry = Model("ridge_lr", "classification", "Ridge logistic regression",
                  "logistic regression with ridge penalty", ridge_lr)
    monkeypatch.setitem(MODELS["classification"], "ridge_lr", entry)
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = rng.normal(size=(40, 5)) + y[:, None] * 1.5
    result = evaluate(X, y.astype(str), groups=np.arange(40), models=["ridge_lr"],
                      outer_folds=4, repeats=1, seed=0, fast=True, n_bootstrap=50)
    auc = result.metrics.query("model == 'ridge_lr' and metric == 'roc_auc'").estimate
    assert len(auc) == 1 and float(auc.iloc[0]) > 0.8  # separated classes: near 1
