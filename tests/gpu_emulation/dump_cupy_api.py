"""Write ``cupy_api.json``: facts about the real CuPy API that the emulator enforces.

The CuPy emulator (``tests/gpu_emulation/emulator.py``) may only offer the names, ndarray
attributes and keyword parameters that real CuPy has, so that code which runs under the
emulator does not call something a GPU machine lacks. Those facts come from the real
package, which imports without a GPU (only allocations and kernels need one).

How the committed JSON was made (never inside the project venv, CuPy is no dependency)::

    python3.11 -m venv /tmp/cupyvenv
    /tmp/cupyvenv/bin/pip install cupy-cuda13x numpy scipy     # CuPy 14.x
    /tmp/cupyvenv/bin/python tests/gpu_emulation/dump_cupy_api.py

Run it again after a CuPy upgrade on the GPU machine and commit the diff.
"""
from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
import types
from pathlib import Path

OUT = Path(__file__).with_name("cupy_api.json")
NAMESPACES = ("cupy", "cupy.linalg", "cupy.fft", "cupy.random", "cupyx", "cupyx.scipy",
              "cupyx.scipy.ndimage", "cupyx.scipy.fft", "cupyx.scipy.special")


def kind_of(value, numpy) -> str:
    """How the emulator must offer a public name of a CuPy namespace."""
    import cupy

    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, cupy.ufunc):
        return "ufunc"
    if isinstance(value, type):
        # dtypes and scalar types (cupy.float64 is numpy.float64) stay NumPy's objects
        return "numpy_type" if getattr(numpy, value.__name__, None) is value else "type"
    if callable(value):
        return "function"
    return "constant"


def parameters(func) -> list[str] | None:
    """Parameter names (``*name`` / ``**name`` for variadics); None when not introspectable
    (Cython builtins)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return [prefix.get(p.kind, "") + p.name for p in sig.parameters.values()]


def method_parameters(method) -> list[str] | None:
    """Parameter names of a Cython ndarray method, from its docstring's signature line
    (``_ndarray_base.max(self, axis=None, out=None, keepdims=False) -> ...``)."""
    first = (getattr(method, "__doc__", None) or "").strip().split("\n", 1)[0]
    match = re.match(r"^[\w.]+\((.*)\)", first.split(" -> ")[0])
    if match is None:
        return None
    names = [part.split("=")[0].strip() for part in match.group(1).split(",") if part.strip()]
    return [n for n in names if n != "self"]


def main() -> None:
    import cupy
    import numpy

    api: dict = {"cupy_version": cupy.__version__, "numpy_version": numpy.__version__,
                 "python": sys.version.split()[0], "namespaces": {}, "parameters": {}}
    for ns in NAMESPACES:
        module = importlib.import_module(ns)
        names = {}
        for name in dir(module):
            if name.startswith("_"):
                continue
            value = getattr(module, name)
            names[name] = kind_of(value, numpy)
            if names[name] == "function":
                params = parameters(value)
                if params is not None:
                    api["parameters"][f"{ns}.{name}"] = params
        api["namespaces"][ns] = names
    api["ndarray_attributes"] = sorted(dir(cupy.ndarray))
    api["ndarray_method_parameters"] = {
        name: params for name in dir(cupy.ndarray) if not name.startswith("_")
        and callable(getattr(cupy.ndarray, name))
        and (params := method_parameters(getattr(cupy.ndarray, name))) is not None}
    api["ufunc_attributes"] = sorted(n for n in dir(cupy.add) if not n.startswith("_"))
    OUT.write_text(json.dumps(api, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} (CuPy {cupy.__version__})")


if __name__ == "__main__":
    main()
