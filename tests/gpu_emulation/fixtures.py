"""The ``cupy_backend`` fixture: the emulated CuPy everywhere, real CuPy where a GPU is usable.

Import it into a test module (``from tests.gpu_emulation.fixtures import cupy_backend``)
and take ``cupy_backend`` as an argument: the test runs once on the emulator (always) and
once on the real CuPy (marked ``gpu``; skipped with the reason when no GPU is usable).
Inside the test ``import cupy`` gives the same module as the fixture.
"""
from __future__ import annotations

import pytest

from neurorad import backend
from tests.gpu_emulation.emulator import install


@pytest.fixture(params=["emulated", pytest.param("cuda", marks=pytest.mark.gpu)])
def cupy_backend(request, monkeypatch):
    """The ``cupy`` module of this run: the emulator, or the real one on a GPU machine."""
    if request.param == "emulated":
        return install(monkeypatch)
    if not backend.gpu_available():
        pytest.skip(f"no usable GPU: {backend.gpu_unavailable_reason()}")
    import cupy

    return cupy
