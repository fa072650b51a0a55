"""Reading images and study manifests; checking them before any feature is computed.

``read_image``, ``load_manifest``, ``validate_manifest``, ``read_table_csv`` /
``write_table_csv`` (result tables) are importable from here; the
submodules are loaded on first use so ``import neurorad.io`` stays cheap.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "read_image": "neurorad.io.images",
    "ImageReadError": "neurorad.io.images",
    "load_manifest": "neurorad.io.manifest",
    "Manifest": "neurorad.io.manifest",
    "ManifestError": "neurorad.io.manifest",
    "validate_manifest": "neurorad.io.validate",
    "ValidationReport": "neurorad.io.validate",
    "read_table_csv": "neurorad.io.tables",
    "write_table_csv": "neurorad.io.tables",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'neurorad.io' has no attribute {name!r}")
