"""Validation of filter specs: the keys of ``shared/ibsi2/phase1_cases.json``, nothing else.

A spec is a plain dict, e.g. ``{"filter": "log", "dimensions": "3d", "boundary": "mirror",
"sigma_mm": 1.5, "cutoff_sigmas": 4.0}``. Each filter module declares the keys it reads
(``CHECKS``: key -> value check) and which of them a given spec must carry
(``required_keys(spec)``: e.g. ``energy_distance_voxels`` only when ``response_energy`` is
true). A key the filter does not read, a key it needs that is missing, and a value of the
wrong kind are all :class:`FilterSpecError`, naming the key.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping

from neurorad.errors import SettingsInputError

BOUNDARIES = ("zero", "nearest", "periodic", "mirror")
DIMENSIONS = ("2d", "3d")
POOLINGS = ("average", "max", "none")


class FilterSpecError(SettingsInputError):
    """A filter spec has an unknown or missing key, or a value out of range."""


Check = Callable[[str, object], None]


def _describe(spec: Mapping) -> str:
    return f"filter {spec.get('filter')!r}"


def choice(*allowed: str) -> Check:
    def check(key, value):
        if value not in allowed:
            raise FilterSpecError(f"{key!r} must be one of {list(allowed)}, got {value!r}")
    return check


def boolean(key, value):
    if not isinstance(value, bool):
        raise FilterSpecError(f"{key!r} must be true or false, got {value!r}")


def positive_int(key, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise FilterSpecError(f"{key!r} must be a positive integer, got {value!r}")


def odd_positive_int(key, value):
    positive_int(key, value)
    if value % 2 == 0:
        raise FilterSpecError(f"{key!r} must be odd (a window centred on the voxel), got {value!r}")


def non_negative_int(key, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise FilterSpecError(f"{key!r} must be an integer >= 0, got {value!r}")


def positive_float(key, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise FilterSpecError(f"{key!r} must be a number > 0, got {value!r}")


def real(key, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise FilterSpecError(f"{key!r} must be a number, got {value!r}")


def string(key, value):
    if not isinstance(value, str) or not value:
        raise FilterSpecError(f"{key!r} must be a non-empty string, got {value!r}")


def validate(spec: Mapping, checks: Mapping[str, Check], required: set[str]) -> None:
    """Raise :class:`FilterSpecError` unless ``spec`` has exactly the ``required`` keys
    (plus ``filter``) and each value passes its check."""
    if not isinstance(spec, Mapping):
        raise FilterSpecError(f"a filter spec must be a mapping, got {type(spec).__name__}")
    keys = set(spec) - {"filter"}
    unknown = sorted(keys - set(checks))
    if unknown:
        raise FilterSpecError(f"{_describe(spec)}: unknown key {unknown[0]!r} (keys it reads: "
                              f"{sorted(set(checks) | {'filter'})})")
    missing = sorted(required - keys)
    if missing:
        raise FilterSpecError(f"{_describe(spec)}: missing key {missing[0]!r}")
    unused = sorted(keys - required)
    if unused:
        raise FilterSpecError(f"{_describe(spec)}: key {unused[0]!r} is not used with these "
                              f"settings (it applies only when {_condition(unused[0])})")
    for key in sorted(keys):
        try:
            checks[key](key, spec[key])
        except FilterSpecError as exc:
            raise FilterSpecError(f"{_describe(spec)}: {exc}") from None


_CONDITIONS = {
    "energy_distance_voxels": "response_energy is true",
    "orientation_step_deg": "rotation_invariant is true",
    "structure_tensor_sigma": "riesz_aligned is true",
    "sigma_mm": "base_filter is 'log'",
    "cutoff_sigmas": "base_filter is 'log'",
    "decomposition_level": "base_filter is 'simoncelli'",
}


def _condition(key: str) -> str:
    return _CONDITIONS.get(key, "another setting asks for it")


def check_pooling(spec: Mapping) -> None:
    """``pooling`` is ``none`` exactly when ``rotation_invariant`` is false."""
    if spec["rotation_invariant"] and spec["pooling"] == "none":
        raise FilterSpecError(f"{_describe(spec)}: 'pooling' must be 'average' or 'max' when "
                              "'rotation_invariant' is true")
    if not spec["rotation_invariant"] and spec["pooling"] != "none":
        raise FilterSpecError(f"{_describe(spec)}: 'pooling' must be 'none' when "
                              "'rotation_invariant' is false")


def error(spec: Mapping, message: str) -> FilterSpecError:
    """A :class:`FilterSpecError` prefixed with the filter's name."""
    return FilterSpecError(f"{_describe(spec)}: {message}")


# Intensity transforms (square, square root, logarithm, exponential) act voxel by voxel:
# ``dimensions`` is accepted (and ignored) so that a filter bank can give every spec one.
POINTWISE_CHECKS = {"dimensions": choice(*DIMENSIONS)}


def pointwise_required(spec) -> set[str]:
    return {"dimensions"} if "dimensions" in spec else set()
