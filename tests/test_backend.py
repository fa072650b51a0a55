"""Device selection: `auto` must never pick a GPU that cannot run a kernel."""
from __future__ import annotations

import numpy as np
import pytest

from neurorad import backend


def test_numpy_arrays_select_numpy():
    assert backend.get_xp(np.zeros(3), np.ones(2)) is np
    assert backend.to_numpy([1, 2]).tolist() == [1, 2]


def test_force_cpu_environment_variable_wins(monkeypatch):
    monkeypatch.setenv(backend.FORCE_CPU_ENV, "1")
    assert not backend.gpu_available()
    assert backend.resolve_device("auto") == "cpu"
    assert backend.xp_for_device("auto") is np
    assert backend.FORCE_CPU_ENV in backend.gpu_unavailable_reason()
    with pytest.raises(RuntimeError, match=backend.FORCE_CPU_ENV):
        backend.resolve_device("gpu")


def test_unknown_device_is_an_error():
    with pytest.raises(ValueError, match="device must be one of"):
        backend.resolve_device("tpu")


def test_cpu_is_always_cpu():
    assert backend.resolve_device("cpu") == "cpu"


def test_auto_matches_probe(monkeypatch):
    monkeypatch.delenv(backend.FORCE_CPU_ENV, raising=False)
    usable, reason = backend._probe_gpu()
    assert backend.resolve_device("auto") == ("gpu" if usable else "cpu")
    if not usable:
        # the reason is what a user sees when they ask for the GPU explicitly
        assert reason
        with pytest.raises(RuntimeError, match="no GPU is usable"):
            backend.resolve_device("gpu")
