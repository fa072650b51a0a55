"""The texture kernels on CuPy give the NumPy results.

Each test runs on the CuPy emulator (``tests/gpu_emulation``: strict about host/device mixing
and CuPy's API, NumPy arithmetic underneath) and, marked ``gpu``, on a real GPU (skipped
with the reason where none is usable).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from neurorad.features.gldzm import gldzm_features
from neurorad.features.glcm import glcm_features
from neurorad.features.glrlm import glrlm_features
from neurorad.features.glszm import glszm_features
from neurorad.features.ngldm import ngldm_features
from neurorad.features.ngtdm import ngtdm_features
from neurorad.features.texture import DIRECTIONAL_AGGREGATIONS, VOLUME_AGGREGATIONS
from neurorad.features.texture_kernels import border_distance, border_distance_by_erosion
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (fixture)


def _roi(seed=0, shape=(12, 20, 18), n_levels=8):
    rng = np.random.default_rng(seed)
    values = ndimage.gaussian_filter(rng.normal(size=shape), 1.2)
    mask = ndimage.binary_opening(rng.random(shape) < 0.9)
    edges = np.quantile(values[mask], np.linspace(0, 1, n_levels + 1)[1:-1])
    return np.where(mask, np.digitize(values, edges) + 1, 0), mask


FAMILIES = {
    "glcm": lambda b, m: glcm_features(b, 8, aggregations=DIRECTIONAL_AGGREGATIONS),
    "glrlm": lambda b, m: glrlm_features(b, 8, aggregations=DIRECTIONAL_AGGREGATIONS),
    "glszm": lambda b, m: glszm_features(b, 8, aggregations=VOLUME_AGGREGATIONS),
    "gldzm": lambda b, m: gldzm_features(b, 8, m, aggregations=VOLUME_AGGREGATIONS),
    "ngtdm": lambda b, m: ngtdm_features(b, 8, aggregations=VOLUME_AGGREGATIONS),
    "ngldm": lambda b, m: ngldm_features(b, 8, aggregations=VOLUME_AGGREGATIONS, coarseness=1),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_cupy_features_equal_numpy_features(family, cupy_backend):
    cupy = cupy_backend

    binned, mask = _roi()
    cpu = FAMILIES[family](binned, mask)
    gpu = FAMILIES[family](cupy.asarray(binned), cupy.asarray(mask))
    assert cpu.keys() == gpu.keys()
    for tag in cpu:
        assert np.isclose(gpu[tag], cpu[tag], rtol=1e-9, equal_nan=True), tag


@pytest.mark.parametrize("in_plane", [True, False])
def test_gpu_distance_map_equals_cpu(in_plane, cupy_backend):
    cupy = cupy_backend

    _, mask = _roi(seed=1)
    gpu = border_distance(cupy.asarray(mask), in_plane=in_plane)
    assert np.array_equal(cupy.asnumpy(gpu), border_distance(mask, in_plane=in_plane))
    assert np.array_equal(cupy.asnumpy(gpu), border_distance_by_erosion(mask, in_plane=in_plane))
