"""Batch extraction over manifests (Dask), with caching, failure records and provenance.

Public API
----------
extract_manifest(manifest, settings, out_dir, *, data_root=None, scheduler=None, workers=None,
                 device=None, progress=True, extractor=None) -> BatchResult
wide_table(features) -> DataFrame (one row per subject/group/roi, columns ``<image>__<feature>``)
"""
from __future__ import annotations

from neurorad.batch.runner import BatchResult, extract_manifest
from neurorad.batch.tables import wide_table

__all__ = ["BatchResult", "extract_manifest", "wide_table"]
