"""No filter (``filter: none``): the response map is the image itself (IBSI 2 phase 2,
tests 1.A / 1.B, the unfiltered reference)."""
from __future__ import annotations

from neurorad.filters import _spec

NAME = "none"
CHECKS = {"dimensions": _spec.choice(*_spec.DIMENSIONS)}


def required_keys(spec) -> set[str]:
    return {"dimensions"}


def response(array, spacing, spec, xp):
    """A copy of ``array``."""
    return array.copy()
