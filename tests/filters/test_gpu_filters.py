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
