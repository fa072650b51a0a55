"""neurorad: IBSI-compliant neuro-radiomics — features, leakage-safe models, study reports.

Public API
----------
extract_features(image, mask, settings) -> dict[str, float]
    IBSI features of one ROI (keys are IBSI tags such as ``cm_joint_max_3D_avg``).
extract_features_batch(rois, settings) -> list[dict[str, float]]
    The same for many ROIs at once (texture matrices of all ROIs and discretisations built
    in few, large array operations: the GPU path's unit of work).
load_settings(name_or_path_or_dict) -> Settings
    Validated extraction settings; presets: ``ibsi-phantom``, ``ibsi-ct-a`` ... ``ibsi-ct-e``,
    ``pyradiomics-default``, ``seed-protocol``.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "extract_features", "extract_features_batch", "load_settings"]


def __getattr__(name):
    # Lazy: `import neurorad` stays cheap (the CLI, Dask workers) and free of import cycles.
    if name in ("extract_features", "extract_features_batch"):
        from neurorad import extraction as extract

        return getattr(extract, name)
    if name == "load_settings":
        from neurorad.settings import load_settings

        return load_settings
    raise AttributeError(f"module 'neurorad' has no attribute {name!r}")
