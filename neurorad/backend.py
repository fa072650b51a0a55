"""Array-module selection: one kernel implementation runs on NumPy (CPU) or CuPy (GPU).

Every kernel takes arrays and asks ``get_xp(array)`` for the module that owns them, so the
same code serves both devices. ``resolve_device`` turns the user's ``cpu | gpu | auto`` choice
into a concrete device.

``import cupy`` can succeed on a machine without a usable GPU (the wheel installs anywhere);
only a device query or an allocation fails. ``gpu_available`` therefore runs a tiny
allocation and a kernel, not just the import. ``NEURORAD_FORCE_CPU=1`` disables the GPU.
"""
from __future__ import annotations

import functools
import os
import types

import numpy as np

FORCE_CPU_ENV = "NEURORAD_FORCE_CPU"
DEVICES = ("cpu", "gpu", "auto")


@functools.lru_cache(maxsize=1)
def _probe_gpu() -> tuple[bool, str]:
    """Return (usable, reason). Cached: probing costs a CUDA context."""
    try:
        import cupy  # noqa: F401
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return False, f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
        if n < 1:
            return False, "CuPy found no CUDA device"
        x = cupy.arange(8, dtype=cupy.float64)
        float((x * 2).sum())  # forces a kernel launch and a device-to-host copy
    except Exception as exc:
        return False, f"CUDA device not usable ({type(exc).__name__}: {exc})"
    return True, "ok"


def gpu_available() -> bool:
    """True when CuPy is importable and a CUDA device actually runs a kernel."""
    if os.environ.get(FORCE_CPU_ENV, "").strip().lower() in ("1", "true", "yes"):
        return False
    return _probe_gpu()[0]


def gpu_unavailable_reason() -> str:
    """Human-readable reason why the GPU path is not used ('' when it is usable)."""
    if os.environ.get(FORCE_CPU_ENV, "").strip().lower() in ("1", "true", "yes"):
        return f"{FORCE_CPU_ENV} is set"
    ok, reason = _probe_gpu()
    return "" if ok else reason


def gpu_names() -> list[str]:
    """Names of the usable CUDA devices, in device order ([] when the GPU path is not usable)."""
    if not gpu_available():
        return []
    import cupy

    names = []
    for i in range(cupy.cuda.runtime.getDeviceCount()):
        name = cupy.cuda.runtime.getDeviceProperties(i)["name"]
        names.append(name.decode() if isinstance(name, bytes) else str(name))
    return names


def use_gpu(index: int) -> None:
    """Make CUDA device ``index`` current for this thread (CuPy's current device is per
    thread)."""
    import cupy

    cupy.cuda.Device(int(index)).use()


def resolve_device(device: str = "auto") -> str:
    """Map ``cpu | gpu | auto`` to ``cpu`` or ``gpu``.

    ``gpu`` raises ``RuntimeError`` (with the reason) when no GPU is usable; ``auto`` falls
    back to the CPU silently.
    """
    device = (device or "auto").lower()
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return "cpu"
    if gpu_available():
        return "gpu"
    if device == "gpu":
        raise RuntimeError(f"device='gpu' requested but no GPU is usable: {gpu_unavailable_reason()}")
    return "cpu"


def xp_for_device(device: str) -> types.ModuleType:
    """The array module (numpy or cupy) for a device name (``cpu | gpu | auto``)."""
    if resolve_device(device) == "gpu":
        import cupy

        return cupy
    return np


def get_xp(*arrays) -> types.ModuleType:
    """The array module owning the given arrays (numpy unless one of them is a CuPy array)."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):
            import cupy

            return cupy
    return np


def is_gpu(xp: types.ModuleType) -> bool:
    """Whether the array module ``xp`` is CuPy (arrays in device memory)."""
    return xp is not np


def ndimage(xp: types.ModuleType) -> types.ModuleType:
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` (same API) for CuPy.

    Examples
    --------
    >>> import numpy as np
    >>> ndimage(np).__name__
    'scipy.ndimage'
    """
    if not is_gpu(xp):
        import scipy.ndimage

        return scipy.ndimage
    import cupyx.scipy.ndimage

    return cupyx.scipy.ndimage


def fft(xp: types.ModuleType) -> types.ModuleType:
    """``scipy.fft`` for NumPy, ``cupyx.scipy.fft`` (same API) for CuPy."""
    if not is_gpu(xp):
        import scipy.fft

        return scipy.fft
    import cupyx.scipy.fft

    return cupyx.scipy.fft


def to_numpy(a):
    """Copy an array (NumPy or CuPy) or scalar to host memory as NumPy."""
    if type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)


def to_device(a, xp: types.ModuleType):
    """Move a NumPy array to the array module ``xp`` (no copy for NumPy)."""
    if xp is np:
        return to_numpy(a)
    return xp.asarray(a)
