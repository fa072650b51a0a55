"""A methods paragraph generated from the parameters a study actually ran with.

The text is built from the run's values (settings dict, cohort counts, validation design,
package versions), never from defaults, so what a user pastes into a paper matches what was
computed. Wording follows the IBSI reporting guidelines (Zwanenburg et al., Radiology 2020,
"reporting guidelines" table): software and version, preprocessing (interpolation,
re-segmentation, discretisation), feature families and aggregation, filtered images with
every filter's parameters (IBSI chapter 2 reporting), then the statistics.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from neurorad.modeling.models import labels as model_labels

from neurorad.reports.safe import markdown_text

#: Model name -> phrase of the methods text (the model registry's descriptions).
MODEL_LABELS = model_labels("description")


@dataclass
class ValidationDesign:
    """How the models were validated.

    ``scheme`` is ``grouped_cv`` (repeated k-fold grouped by subject) or ``random_splits``
    (repeated random train/test splits by subject, ``test_fraction`` held out);
    ``inner`` describes hyper-parameter tuning / feature selection inside the training folds.
    """

    scheme: str
    outer_folds: int = 5
    repeats: int = 1
    test_fraction: float | None = None
    inner: str = ""
    models: tuple[str, ...] = ()
    permutations: int = 0
    permutation_splits: str = "shared"
    ci_method: str = "bootstrap over subjects"
    extra: list[str] = field(default_factory=list)


def describe_discretisation(entries: list[dict]) -> str:
    """'fixed bin number (FBN) with 8, 16 and 32 grey levels; ...' from settings entries."""
    names = {"fbn": "fixed bin number (FBN)", "ep": "equal-probability (quantile)",
             "fbs": "fixed bin size (FBS)", "fbs_aligned": "fixed bin size aligned at zero",
             "none": "none (intensities used as grey levels)"}
    grouped: dict[str, list] = {}
    for e in entries:
        grouped.setdefault(e["method"], []).append(e.get("n_bins", e.get("bin_width")))
    parts = []
    for method, values in grouped.items():
        values = [v for v in values if v is not None]
        if not values:
            parts.append(names[method])
            continue
        unit = "grey levels" if method in ("fbn", "ep") else "units bin width"
        parts.append(f"{names[method]} with {_join([f'{v:g}' for v in values])} {unit}")
    return "; ".join(parts) if parts else "none"


def _join(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_preprocessing(settings: dict) -> str:
    """One sentence on interpolation, re-segmentation and discretisation."""
    r = settings.get("resample")
    if r is None:
        interp = "Images were not resampled"
    else:
        spacing = " x ".join(f"{s:g}" for s in r["spacing_xyz"])
        interp = (f"Images were resampled to {spacing} mm "
                  f"({'in-plane' if r['in_plane'] else '3-D'} {r['interpolator']} "
                  f"interpolation; masks {r['mask_interpolator']}, threshold "
                  f"{r['mask_threshold']:g})")
    reseg = settings.get("resegment") or {}
    low, high = (reseg.get("range") or [None, None])
    bits = []
    if low is not None or high is not None:
        bits.append(f"re-segmented to [{'-inf' if low is None else f'{low:g}'}, "
                    f"{'inf' if high is None else f'{high:g}'}]")
    if reseg.get("outliers_sd") is not None:
        bits.append(f"outliers beyond mean +/- {reseg['outliers_sd']:g} SD removed")
    reseg_text = ("; intensities were " + " and ".join(bits)) if bits else ""
    return (f"{interp}{reseg_text}. Discretisation: "
            f"{describe_discretisation(settings.get('discretisation') or [])}, each relative "
            "to the ROI's own intensity range where the method requires it.")


FILTER_LABELS = {
    "none": "no filter", "mean": "mean", "log": "Laplacian of Gaussian (LoG)",
    "laws": "Laws", "gabor": "Gabor", "wavelet": "separable (undecimated) wavelet",
    "simoncelli": "Simoncelli non-separable wavelet", "riesz": "Riesz-transformed",
    "square": "square", "square_root": "square root", "logarithm": "logarithm",
    "exponential": "exponential", "gradient": "gradient magnitude",
}
# spec key -> (wording, unit); in the order they are written.
FILTER_PARAMETERS = (
    ("kernel", "kernel", ""), ("wavelet_response", "response", ""),
    ("decomposition_level", "level", ""), ("support_voxels", "support", " voxels"),
    ("sigma_mm", "sigma", " mm"), ("cutoff_sigmas", "cut-off", " sigma"),
    ("wavelength_mm", "wavelength", " mm"), ("spatial_aspect_ratio", "aspect ratio", ""),
    ("orientation_deg", "orientation", " degrees"),
    ("orientation_step_deg", "orientation step", " degrees"),
    ("riesz_order", "order (x, y, z)", ""),
    ("energy_distance_voxels", "energy map distance", " voxels"),
    ("structure_tensor_sigma", "structure tensor sigma", ""),
)


def describe_filter(spec: dict) -> str:
    """'Laplacian of Gaussian (LoG) (3-D; sigma 2 mm, cut-off 4 sigma; mirror boundary)'."""
    name = FILTER_LABELS.get(spec["filter"], spec["filter"])
    if spec["filter"] == "riesz":
        name += " " + FILTER_LABELS.get(spec.get("base_filter"), str(spec.get("base_filter")))
    params = []
    for key, label, unit in FILTER_PARAMETERS:
        if spec.get(key) is None:
            continue
        value = spec[key]
        if isinstance(value, (list, tuple)):
            text = "(" + ", ".join(str(v) for v in value) + ")"
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        params.append(f"{label} {text}{unit}")
    if spec.get("rotation_invariant"):
        params.append(f"rotation invariant ({spec.get('pooling')} pooling)")
    if spec.get("orthogonal_planes"):
        params.append("averaged over the three orthogonal planes")
    if spec.get("response_energy") and spec.get("energy_distance_voxels") is None:
        params.append("energy map")
    dims = {"2d": "2-D in-plane", "3d": "3-D"}.get(spec.get("dimensions"), "")
    head = "; ".join(x for x in (dims, ", ".join(params),
                                 f"{spec['boundary']} boundary" if spec.get("boundary") else "")
                     if x)
    return f"{name} ({head})" if head else name


def describe_filters(settings: dict) -> str:
    """Sentences on the filtered images (IBSI-2) of ``Settings.to_dict()``; '' without."""
    filters = settings.get("filters")
    if not filters or not filters.get("specs"):
        return ""
    specs = filters["specs"]
    text = (f"Features were also computed on {len(specs)} filter response map(s) following "
            f"IBSI chapter 2: {'; '.join(describe_filter(s) for s in specs)}. Filters were "
            "applied to the whole image after interpolation; the intensity mask was "
            "re-segmented on the unfiltered intensities and used unchanged on every response "
            "map, which was not rounded")
    families = filters.get("families")
    if families is None:
        families = [f for f in settings.get("families") or []
                    if f not in ("morphology", "fractal")]
    text += f". Families on response maps: {_join(list(families))}"
    if filters.get("discretisation"):
        text += f"; discretisation {describe_discretisation(filters['discretisation'])}"
    if not filters.get("keep_original", True):
        text += "; features of the unfiltered image were not computed"
    return text + "."


def methods_paragraph(*, study_sentence: str, n_subjects: int, n_groups: int, n_rois: int,
                      images: list[str], settings: dict, settings_id: str,
                      validation: ValidationDesign, packages: dict[str, str | None],
                      seed: int, fdr_alpha: float | None = None,
                      extra_sentences: list[str] | None = None) -> str:
    """The methods paragraph of one study run.

    Parameters
    ----------
    study_sentence : str
        What was studied (cohort and targets), one sentence supplied by the study module.
    n_subjects, n_groups, n_rois : int
        Subjects (manifest entries), patients (groups) and ROI rows actually analysed.
    images : list of str
        Image / parametric-map names features were computed on.
    settings : dict
        ``Settings.to_dict()`` of the extraction that ran.
    settings_id : str
        ``Settings.settings_id``.
    validation : ValidationDesign
    packages : dict
        Distribution -> version (``provenance.package_versions()``).
    seed : int
    fdr_alpha : float, optional
        Benjamini-Hochberg false discovery rate of the univariate tests (omitted: no tests).
    extra_sentences : list of str, optional
        Study-specific additions (embeddings, SUV definition, ...).
    """
    v = packages
    families = settings.get("families") or []
    aggregations = settings.get("aggregations") or []
    models = _join([MODEL_LABELS.get(m, m) for m in validation.models])
    if validation.scheme == "grouped_cv":
        design = (f"{validation.repeats} repeat(s) of {validation.outer_folds}-fold "
                  "cross-validation with folds grouped by patient (all ROIs of a patient in "
                  "the same fold)")
    elif validation.scheme == "random_splits":
        design = (f"{validation.repeats} random train/test splits by patient "
                  f"({100 * (1 - validation.test_fraction):.0f}/"
                  f"{100 * validation.test_fraction:.0f})")
    else:
        raise ValueError(f"unknown validation scheme {validation.scheme!r}")
    text = [
        study_sentence,
        f"Radiomic features were computed with neurorad {v.get('neurorad')} (Python; IBSI "
        f"definitions, settings id {settings_id}) on {_join(images)} for {n_rois} ROIs of "
        f"{n_subjects} subjects from {n_groups} patients.",
        describe_preprocessing(settings),
        f"Feature families: {_join(families)}; texture matrices aggregated as "
        f"{_join(aggregations)}.",
        describe_filters(settings),
        f"Models were {models}, fitted with scikit-learn {v.get('scikit-learn')}; "
        "feature standardisation and selection were fitted inside each training fold only"
        + (f" ({validation.inner})" if validation.inner else "") + ".",
        f"Performance was estimated by {design}; metrics are reported with 95% intervals "
        f"({validation.ci_method}).",
    ]
    if validation.permutations:
        if validation.permutation_splits == "shared":
            # evaluate(..., permutation_splits="shared"): the observed partitions are reused and
            # only the label-dependent steps (tuning, selection, fitting) are redone.
            text.append(f"As a leakage control every model was tuned and refitted on "
                        f"{validation.permutations} label permutations (labels permuted "
                        "between patients) within the same cross-validation partitions, "
                        "reusing the label-free preprocessing of each training set; the "
                        "permuted runs' performance must be at chance.")
        else:
            text.append(f"As a leakage control the whole procedure, partitions included, "
                        f"was repeated on {validation.permutations} label permutations "
                        "(labels permuted between patients), whose performance must be at "
                        "chance.")
    if fdr_alpha is not None:
        text.append("Univariate associations were tested per feature and corrected for "
                    f"multiple testing with the Benjamini-Hochberg procedure (FDR "
                    f"{fdr_alpha:g}; statsmodels {v.get('statsmodels')}).")
    text.extend(extra_sentences or [])
    text = [t for t in text if t]
    text.append(f"Random seed {seed}; NumPy {v.get('numpy')}, pandas {v.get('pandas')}, "
                f"SciPy {v.get('scipy')}.")
    return " ".join(text)


def methods_markdown(**kwargs) -> str:
    """:func:`methods_paragraph` (same arguments) as Markdown for ``display(Markdown(...))``.

    The paragraph carries names from the data (classes, images, models, the study sentence
    built from them); every character Markdown or HTML could read as markup is escaped
    (:func:`neurorad.reports.safe.markdown_text`), so the report shows exactly the plain text
    :func:`methods_paragraph` returns and a class named ``<img onerror=...>`` stays text.
    """
    return markdown_text(methods_paragraph(**kwargs))
