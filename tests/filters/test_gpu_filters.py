"""The filters' GPU path (CuPy / cupyx) against the CPU path on every phase-1 case.

On the CuPy emulator the arithmetic is NumPy's: the device path must give the CPU map to
1e-12 of its largest magnitude (any larger difference is a bug of the device path); on a
real GPU the benchmark tolerance, 1e-9, applies (``benchmarks/gpu_filters.py``).
"""
from __future__ import annotations

import numpy as np
import pytest

from neurorad import filters
from tests.filters.ibsi2_data import needs_ibsi2, phase1_cases, read
from tests.gpu_emulation.fixtures import cupy_backend  # noqa: F401  (fixture)

pytestmark = needs_ibsi2


def _tolerance(cupy) -> float:
    return 1e-12 if cupy.__version__.endswith("+numpy-emulator") else 1e-9


@pytest.mark.parametrize("case", [c for c in phase1_cases(with_reference=False)
                                  if c["spec"]["filter"] in filters.FILTERS],
                         ids=lambda c: c["id"])
def test_gpu_map_equals_cpu_map(case, cupy_backend):  # noqa: F811
    array, spacing = read(case["phantom"])
    cpu = filters.apply_array(array, spacing, case["spec"], xp=np)
    gpu = filters.apply_array(cupy_backend.asarray(array), spacing, case["spec"])
    assert type(gpu).__module__.startswith("cupy")
    gpu = cupy_backend.asnumpy(gpu)
    scale = max(float(np.abs(cpu).max()), 1e-300)
    assert np.abs(gpu - cpu).max() <= _tolerance(cupy_backend) * scale


def test_host_array_is_moved_to_the_requested_device(cupy_backend):  # noqa: F811
    a = np.arange(27.0).reshape(3, 3, 3)
    spec = {"filter": "mean", "dimensions": "3d", "boundary": "nearest", "support_voxels": 3}
    out = filters.apply_array(a, (1, 1, 1), spec, xp=cupy_backend)
    assert type(out).__module__.startswith("cupy")
    np.testing.assert_allclose(cupy_backend.asnumpy(out), filters.apply_array(a, (1, 1, 1), spec))


EXTRA_SPECS = [
    {"filter": "square"}, {"filter": "square_root"}, {"filter": "logarithm"},
    {"filter": "exponential"},
    {"filter": "gradient", "dimensions": "3d", "boundary": "nearest"},
    {"filter": "laws", "dimensions": "2d", "boundary": "periodic", "kernel": "E3W5",
     "rotation_invariant": True, "pooling": "average", "response_energy": True,
     "energy_distance_voxels": 2},
    {"filter": "wavelet", "dimensions": "2d", "boundary": "mirror", "kernel": "sym4",
     "wavelet_response": "HL", "decomposition_level": 2, "rotation_invariant": True,
     "pooling": "max"},
    {"filter": "simoncelli", "dimensions": "2d", "boundary": "mirror", "decomposition_level": 2},
    {"filter": "riesz", "base_filter": "simoncelli", "dimensions": "2d", "boundary": "mirror",
     "decomposition_level": 1, "riesz_order": [1, 1], "riesz_aligned": True,
     "structure_tensor_sigma": 2.0},
    {"filter": "gabor", "dimensions": "2d", "boundary": "nearest", "sigma_mm": 3.0,
     "wavelength_mm": 4.0, "spatial_aspect_ratio": 1.2, "orientation_deg": 10.0,
     "rotation_invariant": True, "pooling": "max", "orthogonal_planes": True,
     "response": "modulus", "orientation_step_deg": 90.0},
]


@pytest.mark.parametrize("spec", EXTRA_SPECS, ids=lambda s: s["filter"])
def test_gpu_equals_cpu_beyond_phase1(spec, cupy_backend):  # noqa: F811
    rng = np.random.default_rng(17)
    array = rng.normal(size=(6, 11, 13)) * 50 + 20
    spacing = (2.5, 0.8, 0.9)
    cpu = filters.apply_array(array, spacing, spec, xp=np)
    gpu = cupy_backend.asnumpy(filters.apply_array(cupy_backend.asarray(array), spacing, spec))
    assert np.abs(gpu - cpu).max() <= _tolerance(cupy_backend) * np.abs(cpu).max()
