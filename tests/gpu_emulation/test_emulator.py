"""The CuPy emulator refuses what real CuPy refuses (so the emulated GPU tests can fail).

Each expectation is CuPy's documented or source-visible behaviour (CuPy 14): no implicit
device-to-host conversion, TypeError for host-array kernel operands, NumPy dispatch only to
functions CuPy has, 0-d results of reductions, no ``__index__``.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import scipy.ndimage

from neurorad import backend
from tests.gpu_emulation.emulator import API, emulated_modules, install


@pytest.fixture
def cupy(monkeypatch):
    return install(monkeypatch)


def test_api_facts_come_from_cupy_14():
    assert API["cupy_version"].startswith("14.")
    assert {"bincount", "unique", "searchsorted", "einsum"} <= set(API["namespaces"]["cupy"])
    ndimage = set(API["namespaces"]["cupyx.scipy.ndimage"])
    assert "label" in ndimage and "distance_transform_cdt" not in ndimage  # EDT only
    assert API["ndarray_method_parameters"]["max"] == ["axis", "out", "keepdims"]


def test_backend_sees_a_gpu_and_device_arrays(cupy):
    assert backend.resolve_device("gpu") == "gpu"
    assert backend.xp_for_device("gpu") is cupy
    a = cupy.arange(6.0)
    assert backend.get_xp(a) is cupy and backend.get_xp(np.arange(3)) is np
    assert isinstance(backend.to_numpy(a), np.ndarray)
    assert backend.to_device(np.ones(2), cupy).__class__ is cupy.ndarray


def test_install_is_undone_after_the_test():
    had_cupy = "cupy" in sys.modules
    with pytest.MonkeyPatch.context() as mp:
        fake = install(mp)
        import cupy as imported

        assert imported is fake and backend.gpu_available()
    assert sys.modules.get("cupy") is not fake
    assert ("cupy" in sys.modules) == had_cupy


def test_no_implicit_host_conversion(cupy):
    a = cupy.arange(5.0)
    for host_use in (lambda: np.asarray(a), lambda: np.array([a[0], a[1]]),
                     lambda: scipy.ndimage.label(a > 1), lambda: [1, 2, 3][a[1]],
                     lambda: range(cupy.asarray(3))):
        with pytest.raises(TypeError):
            host_use()
    # explicit transfers and scalar conversions are allowed (they synchronise in CuPy)
    assert a.get().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert cupy.asnumpy(a).sum() == 10.0
    assert float(a.sum()) == 10.0 and int(a[2]) == 2 and bool(a[1]) and a[3].item() == 3.0


@pytest.mark.parametrize("operand", [np.ones(5), np.array(2.0), [1.0] * 5])
def test_host_operands_are_refused(cupy, operand):
    a = cupy.arange(5.0)
    with pytest.raises(TypeError):
        a + operand
    with pytest.raises(TypeError):
        operand * a if not isinstance(operand, list) else cupy.multiply(operand, a)
    with pytest.raises(TypeError):
        cupy.concatenate([a, operand])
    with pytest.raises(TypeError):
        cupy.where(a > 1, a, operand)


def test_scalars_mix_with_device_arrays(cupy):
    a = cupy.arange(4)
    assert (a * np.float64(0.5) + 1).get().tolist() == [1.0, 1.5, 2.0, 2.5]
    assert type(np.int64(2) * a) is cupy.ndarray


def test_numpy_functions_dispatch_only_to_what_cupy_has(cupy):
    a = cupy.arange(10.0)
    total = np.sum(a)
    assert type(total) is cupy.ndarray and total.shape == () and float(total) == 45.0
    assert type(np.sqrt(a)) is cupy.ndarray           # __array_ufunc__
    assert "nanpercentile" not in API["namespaces"]["cupy"]
    with pytest.raises(TypeError):
        np.nanpercentile(a, 50)                       # no cupy.nanpercentile
    with pytest.raises(AttributeError):
        cupy.nanpercentile


def test_parameters_cupy_lacks_are_refused(cupy):
    a = cupy.arange(4.0)
    with pytest.raises(TypeError):
        a.max(initial=0.0)
    with pytest.raises(TypeError):
        cupy.sum(a, where=a > 1)
    with pytest.raises(AttributeError):
        a.resize((2, 2))


def test_indexing_and_assignment_like_cupy(cupy):
    a = cupy.zeros(6)
    a[cupy.asarray([1, 2])] = np.array([4.0, 5.0])    # advanced index: host value copied
    a[np.array([3])] = 7.0                            # host index arrays are copied too
    assert a.get().tolist() == [0.0, 4.0, 5.0, 7.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        a[0:2] = np.array([1.0, 2.0])                 # basic index: CuPy's fill takes scalars
    assert type(a[1]) is cupy.ndarray and a[1].shape == ()


def test_undefined_float_to_int_casts_are_refused(cupy):
    with pytest.raises(ValueError):
        cupy.asarray([1.0, np.nan]).astype(np.int64)
    with pytest.raises(ValueError):
        cupy.asarray([-1.0]).astype(np.uint8)
    assert cupy.asarray([1.7]).astype(np.int64).get().tolist() == [1]


def test_kernels_emit_no_floating_point_warnings(cupy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(float(cupy.mean(cupy.zeros(0))))
        assert np.isinf(float(cupy.asarray(1.0) / 0.0))


def test_cupyx_ndimage_needs_device_input(cupy):
    import cupyx.scipy.ndimage as ndi

    mask = np.eye(3, dtype=bool)
    with pytest.raises(TypeError):
        ndi.label(mask)
    labels, n = ndi.label(cupy.asarray(mask), structure=np.ones((3, 3), bool))
    assert type(labels) is cupy.ndarray and n == 1


def test_modules_are_built_once():
    assert emulated_modules() is emulated_modules()
