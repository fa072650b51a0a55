"""Leakage-safe modelling: grouped nested CV, metrics with patient-bootstrap intervals,
DeLong and permutation tests, univariate screening and embeddings.

Public API
----------
evaluate(X, y, *, groups=None, task="classification", models=..., outer_folds=5, repeats=10,
         seed=0, **options) -> EvaluationResult
leakage_contrast(X, y, *, groups, ...) -> (metrics with a ``split`` column, results)
univariate_screen(X, y, *, groups=None, task=...) -> DataFrame (BH-FDR q-values, effect sizes)
embed(X, method=...), embedding_separation(X, labels, ...) -> permutation null for separation
delong_test(positive, score_a, score_b)
"""
from __future__ import annotations

from neurorad.modeling.delong import delong_test
from neurorad.modeling.embedding import embed, embedding_separation
from neurorad.modeling.evaluate import (EvaluationOptions, EvaluationResult, evaluate,
                                        leakage_contrast)
from neurorad.modeling.splits import permuted_labels
from neurorad.modeling.univariate import univariate_screen

__all__ = ["EvaluationOptions", "EvaluationResult", "delong_test", "embed",
           "embedding_separation", "evaluate", "leakage_contrast", "permuted_labels",
           "univariate_screen"]
