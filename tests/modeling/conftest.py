"""Synthetic data sets for the modelling tests (generated here, truth known by design)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def clustered_rois(n_patients=24, rois_per_patient=4, n_features=10, roi_noise=0.15,
                   signal=0.0, n_classes=2, seed=0):
    """ROIs of one patient are strongly alike (patient effect SD 1, ROI noise ``roi_noise``).

    The label is drawn per patient; with ``signal`` > 0 the patient mean of feature ``f0``
    (and ``f1``) is shifted by ``signal`` per class step, otherwise the label is unrelated.
    """
    rng = np.random.default_rng(seed)
    labels = np.resize(np.arange(n_classes), n_patients)
    rng.shuffle(labels)
    centre = rng.normal(size=(n_patients, n_features))
    centre[:, :2] += signal * labels[:, None]
    groups = np.repeat(np.arange(n_patients), rois_per_patient)
    X = centre[groups] + roi_noise * rng.normal(size=(len(groups), n_features))
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(n_features)])
    return frame, labels[groups], np.array([f"P{g:03d}" for g in groups])


def planted_regression(n=60, n_features=20, signal=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = signal * (X[:, 0] + 0.5 * X[:, 1]) + rng.normal(size=n)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(n_features)]), y


@pytest.fixture
def make_clustered():
    return clustered_rois


@pytest.fixture
def make_regression():
    return planted_regression
