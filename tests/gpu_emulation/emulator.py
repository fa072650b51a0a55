"""A strict, NumPy-backed stand-in for CuPy, to run neurorad's GPU code path without a GPU.

:func:`install` puts fake ``cupy``, ``cupy.cuda``, ``cupy.linalg`` / ``fft`` / ``random``,
``cupyx``, ``cupyx.scipy``, ``cupyx.scipy.ndimage`` / ``fft`` / ``special`` modules into
``sys.modules`` (through pytest's ``monkeypatch``, so they vanish after the test) and makes
``neurorad.backend`` report a usable GPU. A device array (:class:`ndarray`) wraps a
NumPy array but is *not* one, and behaves like CuPy's where neurorad could go wrong:

* **No implicit host copy.** ``__array__`` raises ``TypeError`` as CuPy's does, so
  ``np.asarray(device)``, SciPy / scikit-image calls and NumPy functions CuPy lacks fail.
  ``float()``, ``int()``, ``bool()``, ``.item()``, ``.tolist()`` and ``.get()`` work (CuPy
  allows them; they synchronise). There is no ``__index__`` (CuPy has none): a 0-d device
  array cannot index a list or size a ``range``.
* **No host operands.** Operators and ufuncs accept device arrays and Python / NumPy
  *scalars* only; a ``numpy.ndarray`` (0-d included) or a list raises
  ``TypeError: Unsupported type`` as in CuPy's kernel argument check
  (``cupy/_core/_scalar.pyx``). ``cupy.<function>`` rejects ``numpy.ndarray`` arguments too,
  except the conversions that really accept host data (``array``, ``asarray``, ``asanyarray``,
  ``asnumpy``, ``ix_``, ``diff``, ``linspace``) and ``percentile``/``quantile`` ``q`` given as
  a list or tuple. Indices may be host arrays and lists (CuPy copies them to the device,
  ``_prepare_slice_list``); assigning a host array through a *basic* index (slices / ints)
  raises ``ValueError`` as CuPy's ``fill`` does, through an advanced index it is copied.
* **NumPy dispatch as CuPy does it.** ``np.<func>(device)`` goes through
  ``__array_function__`` to ``cupy.<func>`` when CuPy 14 has that name, else ``TypeError``
  ("no implementation found"); ``np.<ufunc>(device)`` goes through ``__array_ufunc__``.
* **Only CuPy 14's API.** Module names, ndarray attributes, ufunc methods and keyword
  parameters come from ``cupy_api.json`` (dumped from the real ``cupy-cuda13x`` 14.x wheel
  by ``dump_cupy_api.py``; ndarray method parameters from their docstrings); anything else
  is an ``AttributeError`` / ``TypeError`` (e.g. ``a.max(initial=0)``, ``cupy.sum(where=)``).
  ``cupyx.scipy.ndimage.<name>`` runs ``scipy.ndimage.<name>`` and insists on a device
  ``input`` (structure / footprint arguments may be host arrays, as in CuPy).
* **0-d results.** Reductions, indexing a single element and ufuncs of scalars give 0-d
  device arrays, never NumPy scalars (CuPy's "reductions return 0-d arrays").

What it cannot catch: numerical differences of CUDA kernels (reduction order, atomics,
fused multiply-add, ``cupyx.scipy.ndimage`` interpolation or labelling implementations),
CuPy's wrap-around of out-of-bounds integer indices (the emulator raises like NumPy),
nondeterministic order of duplicate-index scatters, unsupported dtypes in kernels, memory
limits, streams / multi-GPU placement and anything about speed. Functions the NumPy
side lacks (``cupy.RawKernel``, ``cupy.fuse``, pinned memory ...) raise
``NotImplementedError`` when called.
"""
from __future__ import annotations

import functools
import json
import sys
import types
import warnings
from pathlib import Path

import numpy as np

API = json.loads(Path(__file__).with_name("cupy_api.json").read_text(encoding="utf-8"))
NDARRAY_ATTRIBUTES = frozenset(API["ndarray_attributes"])
UFUNC_ATTRIBUTES = frozenset(API["ufunc_attributes"])
IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. Please use "
                       "`.get()` to construct a NumPy array explicitly.")
# cupy.<name> functions whose real implementation converts host arrays (asarray & co.).
ACCEPTS_HOST_ARRAYS = frozenset({"array", "asarray", "asanyarray", "asnumpy", "ix_", "diff",
                                 "linspace", "get_array_module"})
CUPY_ONLY_KEYWORDS = ("blocking", "stream")
# cupy.<name> functions that are elementwise kernels underneath: operands as for ufuncs
KERNEL_FUNCTIONS = frozenset({"where", "clip"})
# cupy.<name> functions joining a sequence that must hold device arrays only
JOINING_FUNCTIONS = frozenset({"concatenate", "stack", "vstack", "hstack", "dstack",
                               "column_stack"})
# Where the emulator finds the NumPy/SciPy implementation of each CuPy namespace.
BACKENDS = {
    "cupy": "numpy", "cupy.linalg": "numpy.linalg", "cupy.fft": "numpy.fft",
    "cupy.random": "numpy.random", "cupyx.scipy.ndimage": "scipy.ndimage",
    "cupyx.scipy.fft": "scipy.fft", "cupyx.scipy.special": "scipy.special",
}


# --------------------------------------------------------------------------------------------
# Device arrays
# --------------------------------------------------------------------------------------------

def _silently(func, *args, **kwargs):
    """Run NumPy as a CUDA kernel runs: no floating-point warnings (CuPy emits none, so a
    NaN feature whose only warning came from NumPy would pass unannounced on a GPU)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(*args, **kwargs)


def _check_float_to_int(source, dtype, where: str) -> None:
    """Casting NaN, infinities or out-of-range floats to integers is undefined in CUDA and
    gives other values on a GPU than on the CPU (CuPy docs, "Cast behavior from float to
    integer"): the emulator refuses it."""
    target = np.dtype(dtype)
    if target.kind not in "iu" or not isinstance(source, np.ndarray) or source.dtype.kind != "f":
        return
    if source.size == 0:
        return
    info = np.iinfo(target)
    finite = np.isfinite(source)
    if not finite.all() or source.min() < info.min or source.max() > info.max:
        raise ValueError(f"{where}: casting {source.dtype} values outside the range of {target}"
                         " (NaN, inf or out of range) is undefined on a GPU (CuPy differs from "
                         "NumPy)")


def _is_host_array(x) -> bool:
    return isinstance(x, np.ndarray)


def _unwrap(x):
    """Device arrays -> their NumPy data, recursively through lists / tuples / dicts."""
    if isinstance(x, ndarray):
        return x._data
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, tuple):
        return type(x)(*map(_unwrap, x)) if hasattr(x, "_fields") else tuple(map(_unwrap, x))
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    """NumPy results -> device arrays (NumPy scalars become 0-d arrays, as in CuPy)."""
    if isinstance(x, np.ndarray):
        return ndarray._of(x)
    if isinstance(x, np.generic):
        return ndarray._of(np.asarray(x))
    if isinstance(x, tuple):
        return type(x)(*map(_wrap, x)) if hasattr(x, "_fields") else tuple(map(_wrap, x))
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _host_arrays_in(values, depth: int = 0) -> list:
    found = []
    for v in values:
        if _is_host_array(v):
            found.append(v)
        elif isinstance(v, (list, tuple)) and depth < 2:
            found += _host_arrays_in(v, depth + 1)
        elif isinstance(v, dict):
            found += _host_arrays_in(list(v.values()), depth + 1)
    return found


def _reject_host_arrays(where: str, args, kwargs) -> None:
    host = _host_arrays_in(list(args) + list(kwargs.values()))
    if host:
        raise TypeError(f"{where}: got a numpy.ndarray (shape {host[0].shape}); CuPy does not "
                        "copy host arrays implicitly (use cupy.asarray)")


def _check_kernel_operand(where: str, x) -> None:
    """CuPy kernels take device arrays and Python / NumPy scalars, nothing else."""
    if isinstance(x, (ndarray, bool, int, float, complex, np.generic)) or x is None:
        return
    raise TypeError(f"{where}: Unsupported type {type(x)}")


def _is_advanced_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (ndarray, np.ndarray, list, bool, np.bool_)) for p in parts)


class ndarray:  # noqa: N801  (CuPy's name)
    """Emulated ``cupy.ndarray``: a NumPy array behind an interface that refuses host use."""

    __slots__ = ("_data",)
    __array_priority__ = 100.0
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("emulated cupy.ndarray: memptr/strides are not emulated")
        self._data = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, data: np.ndarray) -> "ndarray":
        out = object.__new__(cls)
        out._data = data
        return out

    # -- the host boundary ----------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(IMPLICIT_CONVERSION)

    def get(self, stream=None, order="C", out=None, blocking=True):
        """Copy to the host (a new NumPy array, as ``cupy.ndarray.get``)."""
        host = np.array(self._data, order=order)
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, arr, stream=None):
        if not _is_host_array(arr):
            raise TypeError("cupy.ndarray.set: only numpy.ndarray is supported")
        if arr.shape != self.shape or arr.dtype != self.dtype:
            raise ValueError("cupy.ndarray.set: shape and dtype must match")
        self._data[...] = arr

    def item(self, *args):
        return self._data.item(*args)

    def tolist(self):
        return self._data.tolist()

    def __bool__(self):
        return bool(self._data)

    def __int__(self):
        return int(self._data)

    def __float__(self):
        return float(self._data)

    def __complex__(self):
        return complex(self._data)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self):
        return repr(self._data)

    def __str__(self):
        return str(self._data)

    def __format__(self, spec):
        return format(self._data.item() if self._data.ndim == 0 else self._data, spec)

    def __copy__(self):
        return ndarray._of(self._data.copy())

    def __deepcopy__(self, memo):
        return ndarray._of(self._data.copy())

    def __reduce__(self):
        return (ndarray._of, (self._data,))

    # -- attributes and methods ---------------------------------------------------------------
    def __getattr__(self, name):
        if name.startswith("__") or name not in NDARRAY_ATTRIBUTES:
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")
        if name in ("scatter_add", "scatter_max", "scatter_min"):
            op = {"scatter_add": np.add, "scatter_max": np.maximum,
                  "scatter_min": np.minimum}[name]
            return lambda slices, value: op.at(self._data, _unwrap(slices), _unwrap(value))
        if name == "device":
            return _CURRENT_DEVICE
        if not hasattr(self._data, name):
            raise NotImplementedError(f"emulated cupy.ndarray.{name} is not emulated")
        value = getattr(self._data, name)
        if not callable(value):
            return _wrap(value) if isinstance(value, np.ndarray) else value

        def method(*args, **kwargs):
            _check_parameters(f"cupy.ndarray.{name}", args, kwargs,
                              API["ndarray_method_parameters"].get(name))
            if name not in ("take", "put", "compress", "fill"):  # these convert host input
                _reject_host_arrays(f"cupy.ndarray.{name}", args, kwargs)
            if name == "astype":
                _check_float_to_int(self._data, kwargs.get("dtype", args[0] if args else None),
                                    "cupy.ndarray.astype")
            return _wrap(_silently(value, *_unwrap(args), **_unwrap(kwargs)))

        method.__name__ = name
        return method

    def __setattr__(self, name, value):
        if name == "_data":
            object.__setattr__(self, name, value)
        elif name == "shape":
            self._data.shape = value
        else:
            raise AttributeError(f"cannot set attribute {name!r} of an emulated cupy.ndarray")

    # -- indexing ---------------------------------------------------------------------------
    def __getitem__(self, index):
        return _wrap(self._data[_unwrap(index)])

    def __setitem__(self, index, value):
        if not isinstance(value, ndarray) and not _is_advanced_index(index):
            # CuPy's basic-index assignment of a non-device value is ndarray.fill: scalars only
            if _is_host_array(value) and value.ndim > 0:
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            if isinstance(value, (list, tuple)):
                raise TypeError(f"Unsupported type {type(value)}")
        source = _unwrap(value)
        _check_float_to_int(np.asarray(source), self.dtype, "cupy.ndarray.__setitem__")
        self._data[_unwrap(index)] = source

    def __delitem__(self, index):
        raise ValueError("cannot delete array elements")

    # -- NumPy interoperability (as CuPy's __array_ufunc__ / __array_function__) -------------
    def __array_ufunc__(self, numpy_ufunc, method, *inputs, **kwargs):
        cupy_ufunc = _UFUNCS.get(numpy_ufunc.__name__)
        if cupy_ufunc is None:
            return NotImplemented
        if method == "__call__":
            return cupy_ufunc(*inputs, **kwargs)
        if method not in UFUNC_ATTRIBUTES:
            return NotImplemented
        return getattr(cupy_ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        namespace = "cupy" + func.__module__[len("numpy"):]
        function = _FUNCTIONS.get(namespace, {}).get(func.__name__)
        if function is None or any(t not in (ndarray, np.ndarray) for t in types_):
            return NotImplemented
        return function(*args, **kwargs)


ndarray.__module__ = "cupy"  # get_xp recognises CuPy arrays by their type's module


def _binary(ufunc_name, reflected=False):
    def op(self, other):
        u = _UFUNCS[ufunc_name]
        return u(other, self) if reflected else u(self, other)
    return op


def _inplace(ufunc_name):
    def op(self, other):
        _UFUNCS[ufunc_name](self, other, out=self)
        return self
    return op


def _unary(ufunc_name):
    return lambda self: _UFUNCS[ufunc_name](self)


for _dunder, _name in {"add": "add", "sub": "subtract", "mul": "multiply",
                       "truediv": "true_divide", "floordiv": "floor_divide", "mod": "remainder",
                       "pow": "power", "and": "bitwise_and", "or": "bitwise_or",
                       "xor": "bitwise_xor", "lshift": "left_shift",
                       "rshift": "right_shift"}.items():
    setattr(ndarray, f"__{_dunder}__", _binary(_name))
    setattr(ndarray, f"__r{_dunder}__", _binary(_name, reflected=True))
    setattr(ndarray, f"__i{_dunder}__", _inplace(_name))
for _dunder, _name in {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                       "gt": "greater", "ge": "greater_equal"}.items():
    setattr(ndarray, f"__{_dunder}__", _binary(_name))
for _dunder, _name in {"neg": "negative", "pos": "positive", "abs": "absolute",
                       "invert": "invert"}.items():
    setattr(ndarray, f"__{_dunder}__", _unary(_name))
# cupy.matmul is a generalised ufunc (a "function" in cupy_api.json)
ndarray.__matmul__ = lambda self, other: _FUNCTIONS["cupy"]["matmul"](self, other)
ndarray.__rmatmul__ = lambda self, other: _FUNCTIONS["cupy"]["matmul"](other, self)
ndarray.__divmod__ = lambda self, other: _UFUNCS["divmod"](self, other)
ndarray.__rdivmod__ = lambda self, other: _UFUNCS["divmod"](other, self)


# --------------------------------------------------------------------------------------------
# ufuncs and functions
# --------------------------------------------------------------------------------------------

class ufunc:  # noqa: N801  (CuPy's name)
    """Emulated ``cupy.ufunc``: device arrays and scalars only."""

    def __init__(self, name: str, numpy_ufunc):
        self.name = self.__name__ = name
        self._ufunc = numpy_ufunc
        self.nin, self.nout, self.nargs = numpy_ufunc.nin, numpy_ufunc.nout, numpy_ufunc.nargs

    def _run(self, method, args, kwargs, operands):
        for x in operands:
            _check_kernel_operand(f"cupy.{self.name}", x)
        out = kwargs.get("out")
        for o in (out if isinstance(out, tuple) else (out,)):
            if o is not None and not isinstance(o, ndarray):
                raise TypeError(f"cupy.{self.name}: out must be a cupy.ndarray")
        return _wrap(_silently(method, *_unwrap(args), **_unwrap(kwargs)))

    def __call__(self, *args, **kwargs):
        return self._run(self._ufunc, args, kwargs, args)

    def __getattr__(self, name):
        if name not in UFUNC_ATTRIBUTES:
            raise AttributeError(f"'cupy.ufunc' object has no attribute {name!r}")
        method = getattr(self._ufunc, name)
        if name == "at":  # (a, indices, b): indices may come from the host
            return lambda a, indices, b=None: self._run(
                method, (a, indices) + (() if b is None else (b,)), {}, (a, b))
        return lambda *args, **kwargs: self._run(method, args, kwargs, args)

    def __repr__(self):
        return f"<ufunc 'cupy.{self.name}' (emulated)>"


def _check_parameters(qualified: str, args, kwargs, params=None) -> None:
    """Positional count and keyword names against the real CuPy signature (when known)."""
    params = API["parameters"].get(qualified) if params is None else params
    if params is None:
        return
    if any(p.startswith("**") for p in params):
        return
    if not any(p.startswith("*") for p in params) and len(args) > len(params):
        raise TypeError(f"{qualified}() takes {len(params)} positional arguments but "
                        f"{len(args)} were given (CuPy 14)")
    for key in kwargs:
        if key not in params:
            raise TypeError(f"{qualified}() got an unexpected keyword argument {key!r} "
                            "(CuPy 14)")


def _asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def _get_array_module(*args):
    return sys.modules["cupy"] if any(isinstance(a, ndarray) for a in args) else np


SPECIAL_FUNCTIONS = {"cupy.asnumpy": _asnumpy, "cupy.get_array_module": _get_array_module}


def _function(namespace: str, name: str, implementation):
    qualified = f"{namespace}.{name}"
    special = SPECIAL_FUNCTIONS.get(qualified)
    if special is not None:
        return special

    @functools.wraps(implementation)
    def function(*args, **kwargs):
        _check_parameters(qualified, args, kwargs)
        for key in CUPY_ONLY_KEYWORDS:
            kwargs.pop(key, None)
        if namespace == "cupyx.scipy.ndimage":
            data = args[0] if args else kwargs.get("input")
            if not isinstance(data, ndarray):
                raise TypeError(f"{qualified}: input must be cupy.ndarray, got {type(data)}")
        elif name in ("percentile", "quantile"):
            rest = dict(kwargs)
            rest.pop("q", None)
            _reject_host_arrays(qualified, args[:1] + args[2:], rest)
        elif name not in ACCEPTS_HOST_ARRAYS:
            _reject_host_arrays(qualified, args, kwargs)
        if namespace == "cupy" and name in KERNEL_FUNCTIONS:
            for x in args:
                _check_kernel_operand(qualified, x)
        if namespace == "cupy" and name in JOINING_FUNCTIONS and args:
            if any(not isinstance(x, ndarray) for x in args[0]):
                raise TypeError(f"{qualified}: only cupy arrays can be joined")
        return _wrap(_silently(implementation, *_unwrap(args), **_unwrap(kwargs)))

    function.__module__ = namespace
    return function


def _not_emulated(qualified: str):
    def missing(*args, **kwargs):
        raise NotImplementedError(f"{qualified} is not emulated (no NumPy/SciPy counterpart)")
    missing.__name__ = qualified.rsplit(".", 1)[-1]
    return missing


def _asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    if isinstance(a, ndarray) and copy is not True:
        if (dtype is None or np.dtype(dtype) == a.dtype) and order in (None, "K", "A", "C"):
            return a
    if dtype is not None:
        _check_float_to_int(_unwrap(a), dtype, "cupy.asarray")
    return ndarray._of(np.array(_unwrap(a), dtype=dtype, order=order or "K",
                                copy=True if copy is None else copy))


def _array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, blocking=False):
    if dtype is not None:
        _check_float_to_int(_unwrap(obj), dtype, "cupy.array")
    return ndarray._of(np.array(_unwrap(obj), dtype=dtype, copy=True if copy is None else copy,
                                order=order, ndmin=ndmin))


# --------------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------------

class _Device:
    """``cupy.cuda.Device``: one emulated device, id 0."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise RuntimeError(f"CUDA device {self.id} does not exist (the emulator has one)")

    def use(self):
        return None

    def synchronize(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"<CUDA Device {self.id} (emulated)>"


_CURRENT_DEVICE = _Device(0)


def _cuda_module() -> types.ModuleType:
    cuda = types.ModuleType("cupy.cuda")
    runtime = types.ModuleType("cupy.cuda.runtime")
    runtime.getDeviceCount = lambda: 1
    runtime.getDeviceProperties = lambda i: {"name": b"CuPy emulator (NumPy)",
                                             "totalGlobalMem": 8 * 2 ** 30}
    runtime.deviceSynchronize = lambda: None
    cuda.runtime = runtime
    cuda.Device = _Device
    cuda.is_available = lambda: True
    return cuda


_UFUNCS: dict[str, ufunc] = {}
_FUNCTIONS: dict[str, dict] = {}


def _populate(module: types.ModuleType, namespace: str) -> None:
    import importlib

    backend = importlib.import_module(BACKENDS[namespace]) if namespace in BACKENDS else None
    functions = _FUNCTIONS.setdefault(namespace, {})
    for name, kind in API["namespaces"][namespace].items():
        if kind == "module":
            continue
        source = getattr(backend, name, None) if backend is not None else None
        if kind == "ufunc":
            if isinstance(source, np.ufunc):
                value = ufunc(name, source)
                if namespace == "cupy":
                    _UFUNCS[name] = value
            else:
                value = _not_emulated(f"{namespace}.{name}")
        elif kind == "function":
            value = (_function(namespace, name, source) if callable(source)
                     else SPECIAL_FUNCTIONS.get(f"{namespace}.{name}",
                                                _not_emulated(f"{namespace}.{name}")))
            functions[name] = value
        elif kind == "numpy_type":
            value = getattr(np, name, None)
            if value is None:
                continue  # aliases NumPy 2 removed (cupy.cfloat ...)
        elif kind == "constant":
            value = getattr(np, name, None)
            if value is None:
                continue  # index tricks (mgrid, r_ ...) and the like are not emulated
        else:  # "type"
            value = {"ndarray": ndarray, "ufunc": ufunc}.get(name, getattr(np, name, None))
            if value is None:
                continue
        setattr(module, name, value)


@functools.lru_cache(maxsize=1)
def emulated_modules() -> dict[str, types.ModuleType]:
    """The fake module tree, ``sys.modules`` name -> module (built once per process)."""
    modules = {name: types.ModuleType(name, "CuPy emulator (tests/gpu_emulation)")
               for name in API["namespaces"]}
    for name, module in modules.items():
        _populate(module, name)
    cupy = modules["cupy"]
    cupy.__version__ = API["cupy_version"] + "+numpy-emulator"
    cupy.asarray = _asarray
    cupy.array = _array
    _FUNCTIONS["cupy"].update(asarray=_asarray, array=_array)
    modules["cupy.cuda"] = cupy.cuda = _cuda_module()
    modules["cupy.cuda.runtime"] = cupy.cuda.runtime
    for name, module in modules.items():  # submodules as attributes of their parents
        parent, _, child = name.rpartition(".")
        if parent in modules:
            setattr(modules[parent], child, module)
    return modules


def install(monkeypatch) -> types.ModuleType:
    """Put the emulator into ``sys.modules`` and make neurorad see a usable GPU (undone by
    ``monkeypatch`` at the end of the test). Returns the fake ``cupy``."""
    from neurorad import backend

    for name, module in emulated_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv(backend.FORCE_CPU_ENV, raising=False)
    monkeypatch.setattr(backend, "_probe_gpu", lambda: (True, "ok (CuPy emulator)"))
    return sys.modules["cupy"]
