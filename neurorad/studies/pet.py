"""Glioblastoma 11C-methionine PET: SUV, tumour-to-background ratios, uptake-index regression.

The published model (correlation filter, LASSO, linear regression) was validated on 300
random 70/30 splits with the Spearman correlation between predicted and expert uptake index
on the 12 test patients: 0.58 [0.43; 0.74]. Here the correlation filter and all selection
run inside each training split, rho is reported per split (its spread over splits is the
point: 12-patient test sets make it very noisy), and the reference ROI is excluded from the
model table because the target is defined by it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurorad.studies.common import ModelTable, StudyInputError

#: The amino-acid PET threshold for the tumour mean (x reference mean), MET (EANM/EANO/RANO).
MET_THRESHOLD = 1.3


def uptake_measures(manifest, *, tumour_roi: str = "tumour_voi", reference_roi: str =
                    "reference", pet_image: str = "PET", threshold: float = MET_THRESHOLD,
                    suv_kind: str = "bw") -> pd.DataFrame:
    """SUVmax, SUVmean, TBRmax and TBRmean per subject, SUV computed from the DICOM headers.

    ``SUV = C / (D_inj decayed / body weight)`` (:func:`neurorad.ingest.pet_suv.suv_image`);
    ``TBRmax = SUVmax(tumour) / SUVmean(reference)``, ``TBRmean = mean SUV of tumour voxels
    >= threshold x reference mean / reference mean`` (:func:`neurorad.ingest.pet_suv.uptake_index`).

    Returns one row per subject (index subject id) with ``suv_max, suv_mean,
    reference_mean, tbr_max, tbr_mean``.
    """
    import SimpleITK as sitk

    from neurorad.ingest.pet_suv import suv_image, uptake_index

    rows = {}
    for subject in manifest.subjects:
        if pet_image not in subject.images:
            raise StudyInputError(f"{manifest.path}: subject {subject.id} has no image "
                                  f"{pet_image!r} (images: {sorted(subject.images)})")
        missing = [r for r in (tumour_roi, reference_roi) if r not in subject.rois]
        if missing:
            raise StudyInputError(f"{manifest.path}: subject {subject.id} lacks ROI(s) "
                                  f"{missing}")
        suv = suv_image(subject.images[pet_image].path, suv_kind, subject=subject.id,
                        data_root=manifest.data_root)
        masks = {}
        for roi in (tumour_roi, reference_roi):
            ref = subject.rois[roi]
            labels = sitk.GetArrayFromImage(sitk.ReadImage(str(subject.masks[ref.mask].path)))
            masks[roi] = labels == ref.label
        result = uptake_index(sitk.GetArrayFromImage(suv), masks[tumour_roi],
                              masks[reference_roi], threshold=threshold)
        rows[subject.id] = {k: result[k] for k in ("suv_max", "suv_mean", "reference_mean",
                                                   "tbr_max", "tbr_mean")}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("subject")


def tumour_rows(table: ModelTable, tumour_roi: str = "tumour_voi") -> ModelTable:
    """Keep the tumour ROI rows only (one per patient); the reference ROI defines the
    target's denominator and is not a predictor of its own."""
    keep = (table.X.index.get_level_values("roi") == tumour_roi)
    if not keep.any():
        raise StudyInputError(f"no rows for ROI {tumour_roi!r} in the feature table")
    X = table.X[keep]
    X = X.loc[:, X.notna().any() & (X.nunique(dropna=True) > 1)]
    return ModelTable(X=X, targets=table.targets[keep], groups=table.groups[keep])


def rho_per_split(result, model_order=None) -> pd.DataFrame:
    """Spearman rho of every random split and model (``fold_metrics`` of the evaluation)."""
    fm = result.fold_metrics
    rho = fm[fm.metric == "spearman_rho"][["model", "repeat", "fold", "value"]]
    return rho.rename(columns={"value": "spearman_rho"}).reset_index(drop=True)


def rho_distribution(rho: pd.DataFrame) -> pd.DataFrame:
    """Median, 2.5/97.5 % quantiles and share of splits with rho > 0 per model: the spread a
    single 12-patient test set can show."""
    def summary(v):
        v = v.dropna().to_numpy()
        return pd.Series({"n_splits": len(v), "median": np.median(v),
                          "q2.5": np.quantile(v, 0.025), "q97.5": np.quantile(v, 0.975),
                          "share_positive": float(np.mean(v > 0))})
    return rho.groupby("model", sort=False)["spearman_rho"].apply(summary).unstack()


def predicted_vs_observed(result, model: str) -> pd.DataFrame:
    """Mean out-of-split prediction per patient (over the splits it was tested in)."""
    p = result.predictions
    p = p[p.model == model]
    return p.groupby("group").agg(observed=("y_true", "first"), predicted=("y_pred", "mean"),
                                  n_splits=("y_pred", "size")).reset_index()


def top_features(result, model: str, n: int = 15) -> pd.DataFrame:
    """How often each feature was kept by ``model`` across splits, and its mean |weight|."""
    sel = result.selected_features
    sel = sel[sel.model == model]
    n_fits = sel.groupby(["repeat", "fold"]).ngroups or 1
    table = sel.groupby("feature").agg(selected=("feature", "size"),
                                       mean_abs_weight=("importance", lambda v: np.nanmean(
                                           np.abs(v)) if np.isfinite(v).any() else np.nan))
    table["selection_frequency"] = table["selected"] / n_fits
    return table.sort_values(["selection_frequency", "mean_abs_weight"],
                             ascending=False).head(n).reset_index()
