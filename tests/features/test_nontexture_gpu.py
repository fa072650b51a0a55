"""Non-texture families on CuPy arrays give the NumPy results: on the CuPy emulator
(``tests/gpu_emulation``) always, on a real GPU (marked ``gpu``) where one is usable."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from neurorad import backend
from neurorad.features.fractal import fractal_features
from neurorad.features.histogram import histogram_features
from neurorad.features.ivh import ivh_features
from neurorad.features.local_intensity import local_intensity_features
from neurorad.features.morphology import morphology_features
from neurorad.features.ria_extras import ria_extra_features
from neurorad.features.statistics import statistics_features
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (fixture)


def _case(seed=0, shape=(14, 22, 19)):
    rng = np.random.default_rng(seed)
    image = np.round(100 * ndimage.gaussian_filter(rng.normal(size=shape), 1.5) + 50)
    mask = ndimage.binary_opening(rng.random(shape) < 0.85)
    mask[:2] = False  # keep part of the ROI away from the border, part touching it
    return image, mask


def _same(cpu: dict, gpu: dict):
    assert cpu.keys() == gpu.keys()
    for key in cpu:
        a, b = float(cpu[key]), float(backend.to_numpy(gpu[key]))
        assert (math.isnan(a) and math.isnan(b)) or b == pytest.approx(a, rel=1e-9, abs=1e-12), key


def test_every_family_matches_numpy(cupy_backend):
    cupy = cupy_backend

    image, mask = _case()
    spacing = (2.0, 0.9, 0.9)
    gi, gm = cupy.asarray(image), cupy.asarray(mask)
    values, g_values = image[mask], gi[gm]
    levels = np.digitize(values, np.quantile(values, np.linspace(0, 1, 9)[1:-1])) + 1
    _same(morphology_features(mask, mask, image, spacing), morphology_features(gm, gm, gi, spacing))
    _same(local_intensity_features(image, mask, spacing), local_intensity_features(gi, gm, spacing))
    _same(statistics_features(values), statistics_features(g_values))
    _same(histogram_features(levels, 8), histogram_features(cupy.asarray(levels), 8))
    for kw in ({}, {"bin_width": 2.5, "value_range": (0.0, None)}, {"n_levels": 1000}):
        _same(ivh_features(values, **kw), ivh_features(g_values, **kw))
    _same(fractal_features(mask, spacing), fractal_features(gm, spacing))
    _same(ria_extra_features(values), ria_extra_features(g_values))
