"""Steps shared by the radiomics study notebooks: manifest -> features -> model table -> tables.

A notebook calls, in order, :func:`load_checked_manifest`, :func:`study_settings`,
:func:`extract`, :func:`model_table`, then its study module, and finally
:func:`save_tables`. Everything here is plain data in, plain data out.
"""
from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neurorad.errors import InputError
from neurorad.modeling.models import quick_models
from neurorad.features.tags import FILTER_SEPARATOR
from neurorad.settings.schema import discretisation_sort_key

#: Suffix a discretisation adds to texture/histogram/IVH tags (``_fbn32``, ``_ep8``,
#: ``_fbs25``, ``_fbsa2p5``); features without it (morphology, statistics, local intensity,
#: fractal) do not depend on the discretisation.
DISCRETISATION_SUFFIX = re.compile(r"_(fbn|ep|fbs|fbsa)(\d+(?:p\d+)?)$")


class StudyInputError(InputError):
    """The study's inputs (manifest, data, parameters) cannot be analysed as asked."""


def load_checked_manifest(manifest_path, data_root=None, *, study=None):
    """Validate the manifest and load it; stop with every problem listed if it has errors.

    Relative paths resolve against :func:`project_dir`. With ``study`` given, a missing
    manifest at the default path of that study's notebook is the demo cohort not generated
    yet: it is generated first (:func:`ensure_demo_cohort`), as ``neurorad run-all`` does.

    Returns the loaded ``Manifest`` and the validation report (warnings are kept there and
    shown by the notebook).
    """
    from neurorad.io import load_manifest, validate_manifest

    path = resolve(manifest_path)
    if study is not None:
        ensure_demo_cohort(study, path)
    if data_root is not None:
        data_root = resolve(data_root)
    if not path.is_file():
        raise StudyInputError(f"{path}: manifest not found (set the `manifest` parameter)")
    report = validate_manifest(path, data_root=data_root)
    if not report.ok:
        raise StudyInputError(f"{path}: the manifest has errors:\n{report}")
    return load_manifest(path, data_root=data_root), report


def default_manifest(study: str, base=None) -> Path:
    """The manifest path the notebook of ``study`` uses by default (its parameters cell),
    resolved against ``base`` (default: :func:`project_dir`)."""
    from neurorad.studies.notebooks import parameters

    return resolve(parameters(study)["manifest"], base)


def ensure_demo_cohort(study: str, manifest_path, base=None) -> bool:
    """Generate the synthetic demo cohort of ``study`` when ``manifest_path`` is the
    notebook's default manifest and does not exist yet; True if it was generated.

    Any other manifest is left alone (a missing one is the caller's error to report).
    """
    from neurorad.synth.cohort import ensure_cohort_in

    path = resolve(manifest_path, base)
    if path.is_file() or path != default_manifest(study, base):
        return False
    ensure_cohort_in(path.parent, study)
    return True


def manifest_summary(manifest, report) -> str:
    """'12 subjects, 10 patients, 20 ROIs; 0 warning(s)' for the notebook's manifest check."""
    return (f"{len(manifest.subjects)} subjects, "
            f"{len(set(s.group for s in manifest.subjects))} patients, "
            f"{sum(len(s.rois) for s in manifest.subjects)} ROIs; "
            f"{len(report.warnings)} warning(s)")


#: Notebook parameters that list model names.
MODEL_PARAMETERS = ("models", "regression_models")


def model_names(models, parameter: str = "models") -> list[str]:
    """Model names of a notebook parameter, with YAML's ``null`` read as the null model.

    ``-p models '[null, lasso_lr]'`` is parsed as YAML, where ``null`` is None: without this
    the null model (the reference every other model is compared with) would silently vanish.
    Raises StudyInputError for a value that is not a list of names, or an empty list.
    """
    if isinstance(models, str) or not isinstance(models, (list, tuple)):
        raise StudyInputError(f"{parameter}: expected a list of model names such as "
                              f"[null, lasso_lr], got {models!r:.60}")
    names = ["null" if m is None else m for m in models]
    bad = [m for m in names if not isinstance(m, str) or not m]
    if bad or not names:
        raise StudyInputError(f"{parameter}: expected a non-empty list of model names, got "
                              f"{models!r:.60}")
    return list(dict.fromkeys(names))


def prepare_run(study: str, namespace: dict) -> None:
    """The setup every study notebook runs right after its parameters cell.

    ``namespace`` is the notebook's ``globals()``. In quick mode (smoke test) the design
    parameters there are lowered (:func:`quick_design`) before anything is recorded. Then it
    defines there ``output`` (the report
    folder, created), ``options`` (keyword options for :func:`neurorad.modeling.evaluate`:
    two-value grids when ``fast`` or quick, bootstrap replicates, parallel outer splits),
    ``notes`` (shown with the headline), ``inner_cv`` (for the methods text) and
    ``PARAMETERS`` (every parameter of the notebook with its value, for the provenance).
    Model lists (``models``, ``regression_models``) go through :func:`model_names` first, so
    ``-p models '[null, lasso_lr]'`` keeps its null model.
    """
    from neurorad.studies.notebooks import parameter_values

    ns = namespace
    for name in MODEL_PARAMETERS:
        if name in ns:
            ns[name] = model_names(ns[name], name)
    pd.set_option("display.max_columns", 30, "display.width", 160, "display.precision", 3)
    ns["output"] = resolve(ns["output_dir"])
    ns["output"].mkdir(parents=True, exist_ok=True)
    quick = ns["quick"]
    if quick:
        ns.update(quick_design(ns))
    ns["options"] = {"fast": bool(ns["fast"] or quick), "n_bootstrap": 200 if quick else 500,
                     "n_jobs": parallel_jobs(ns["workers"])}  # outer CV splits in parallel
    ns["notes"] = "; ".join(x for x in (ns["run_label"], "quick mode" if quick else "") if x)
    ns["inner_cv"] = (f"3-fold inner CV over {'two-value' if ns['options']['fast'] else 'full'} "
                      "hyper-parameter grids")
    ns["PARAMETERS"] = parameter_values(study, ns)


#: DKI maps a quick run keeps (one diffusion, one kurtosis map), when present.
QUICK_MAPS = ("FA", "MK")


def quick_design(params: dict) -> dict:
    """The parameters a quick run (smoke test) changes, with their lowered values.

    One repeat, at most 2 label permutations, 3 outer folds, 4 random splits (PET),
    19 embedding permutations (NF2: the fewest whose smallest p-value, 1/20, still
    reaches 0.05), only the model registry's quick models (``null``, ``lasso_lr``), one binning at two grey levels
    (the third and fifth of ``levels``: 8 and 32 of the published 2..128) and two DKI maps.
    Parameters absent from ``params`` are left alone.
    """
    out = {"repeats": 1, "n_permutations": min(params["n_permutations"], 2),
           "outer_folds": min(params["outer_folds"], 3),
           "models": [m for m in params["models"] if m in quick_models()]}
    if "n_splits" in params:
        out["n_splits"] = min(params["n_splits"], 4)
    if "embedding_permutations" in params:
        out["embedding_permutations"] = min(params["embedding_permutations"], 19)
    levels = sorted(params.get("levels") or [])
    if len(levels) > 2:
        out["levels"] = [levels[len(levels) // 3], levels[2 * len(levels) // 3]]
    if len(params.get("binnings") or []) > 1:
        out["binnings"] = list(params["binnings"][:1])
    maps = list(params.get("maps") or [])
    if len(maps) > 2:
        preferred = [m for m in maps if m in QUICK_MAPS]
        out["maps"] = preferred if len(preferred) == 2 else maps[:2]
    return out


def extraction_summary(batch) -> str:
    """'40 cases: 40 computed, 0 from cache, 0 failed; 530 features per case'."""
    return (f"{batch.n_cases} cases: {batch.n_computed} computed, {batch.n_cached} from cache, "
            f"{batch.n_failed} failed; {batch.features.feature.nunique()} features per case")


def select(manifest, *, images=None, rois=None):
    """A copy of ``manifest`` restricted to some images and/or ROIs (None keeps all).

    Extraction runs per (subject, ROI, image), so leaving out what the analysis does not use
    (e.g. the PET study's Bq/ml copy of the SUV image) saves time without changing results.
    """
    from dataclasses import replace

    def keep(mapping, wanted):
        return dict(mapping) if wanted is None else {k: v for k, v in mapping.items()
                                                     if k in set(wanted)}

    subjects = [replace(s, images=keep(s.images, images), rois=keep(s.rois, rois))
                for s in manifest.subjects]
    if not any(s.images and s.rois for s in subjects):
        raise StudyInputError(f"{manifest.path}: no subject has images {images} and ROIs "
                              f"{rois}")
    return replace(manifest, subjects=subjects)


def study_settings(preset, levels, methods=("fbn",), families=None, filters=None):
    """Extraction settings: ``preset`` with its discretisations restricted to ``levels``.

    Parameters
    ----------
    preset : str, path or dict
        Anything ``neurorad.load_settings`` accepts (``seed-protocol`` in the studies).
    levels : list of int
        Grey-level counts to compute (e.g. ``[8, 32]``); the published design used
        2, 4, ..., 128 with two binnings. Computing fewer is what makes the default run fit
        in minutes; the notebooks say which were used.
    methods : tuple of str
        Binning methods with a bin number to keep (``fbn``, ``ep``).
    families : list of str, optional
        Feature families to compute (default: the preset's). The studies' own feature set
        was first-order statistics, GLCM, GLRLM, shape and RIA's fractal dimensions.
    filters : list of dict or dict, optional
        IBSI-2 filter specs (``neurorad.filters`` keys), or a whole settings ``filters:``
        section; features are then computed on each response map too, the original image
        kept (``neurorad.settings.schema``). None or empty (default): no filters, as in the
        published studies.
    """
    from neurorad.settings import load_settings

    base = load_settings(preset).to_dict()
    levels = sorted({int(n) for n in levels})
    if not levels:
        raise StudyInputError("levels: give at least one number of grey levels")
    entries = [{"method": m, "n_bins": n} for m in methods for n in levels]
    base["discretisation"] = entries
    if families is not None:
        base["families"] = list(families)
    if filters:
        base["filters"] = dict(filters) if isinstance(filters, dict) else {
            "specs": list(filters), "keep_original": True}
    return load_settings(base)


def extract(manifest, settings, work_dir, *, data_root=None, scheduler=None, workers=None,
            device=None, progress=True):
    """Run (or resume: finished cases are cached in ``work_dir``) the batch extraction.

    Warnings raised while extracting (IBSI-undefined features set to NaN, e.g. ellipsoid
    densities of flat 2-D ROIs) are collected and printed once per distinct message with
    their count, instead of once per case: a report of 6000 cases must stay readable.

    Raises StudyInputError when every case failed (nothing to analyse), naming the first
    failures; partial failures are returned in ``result.failures`` for the notebook to show.
    """
    from neurorad.batch import extract_manifest

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = extract_manifest(manifest, settings, work_dir, data_root=data_root,
                                  scheduler=scheduler, workers=workers, device=device,
                                  progress=progress)
    for message, count in summarise_warnings(caught).items():
        print(f"warning x{count}: {message}")
    if result.features.empty:
        raise StudyInputError(
            f"no features were extracted; first failures:\n"
            f"{result.failures.head().to_string()}")
    return result


def summarise_warnings(caught, limit: int = 8) -> dict[str, int]:
    """Count recorded warnings by message (progress-bar notices about missing notebook
    widgets are dropped: the bar falls back to text)."""
    counts = Counter(str(w.message) for w in caught
                     if type(w.message).__name__ != "TqdmWarning")
    return dict(counts.most_common(limit))


@dataclass
class ModelTable:
    """Features and targets aligned row by row (one row per subject/ROI).

    ``X``: features (index subject, group, roi); ``targets``: the manifest's targets per row;
    ``groups``: patient id per row (the unit of grouped validation).
    """

    X: pd.DataFrame
    targets: pd.DataFrame
    groups: pd.Series

    @property
    def n_rows(self) -> int:
        return len(self.X)


def model_table(wide: pd.DataFrame, target_table: pd.DataFrame) -> ModelTable:
    """Join the wide feature table with the targets of its subjects.

    Columns that are entirely NaN or constant carry no information and are dropped (they
    arise from features IBSI leaves undefined for some ROI shapes).
    """
    subjects = wide.index.get_level_values("subject")
    missing = sorted(set(subjects) - set(target_table.index))
    if missing:
        raise StudyInputError(f"subjects with features but no targets: {missing[:5]}")
    targets = target_table.loc[subjects].drop(columns=["group"], errors="ignore")
    targets.index = wide.index
    X = wide.loc[:, wide.notna().any() & (wide.nunique(dropna=True) > 1)]
    groups = pd.Series(wide.index.get_level_values("group"), index=wide.index, name="group")
    return ModelTable(X=X, targets=targets, groups=groups)


def _column_parts(column: str) -> tuple[str, str]:
    """(feature tag without filter part, filter part) of a wide-table column
    ``<image>__<tag>[__<filter part>]`` (image names never contain ``__``)."""
    parts = column.split(FILTER_SEPARATOR, 2)
    if len(parts) == 1:
        return parts[0], ""
    return parts[1], parts[2] if len(parts) == 3 else ""


def discretisation_of(column: str) -> str | None:
    """``'fbn32'`` for ``'T1__cm_joint_max_3D_avg_fbn32'`` (and for the same feature of a
    filter response map, ``'T1__cm_joint_max_3D_avg_fbn32__log_s2'``); None for a level-free
    feature."""
    m = DISCRETISATION_SUFFIX.search(_column_parts(column)[0])
    return None if m is None else m.group(1) + m.group(2)


def filter_of(column: str) -> str:
    """The filter part of a wide-table column (``'log_s2'`` for
    ``'T1__stat_mean__log_s2'``, ``docs/features.md``); ``''`` for the original image."""
    return _column_parts(column)[1]


def filters_in(columns) -> list[str]:
    """Filter parts present among ``columns``, in order of first appearance."""
    return list(dict.fromkeys(f for f in map(filter_of, columns) if f))


def columns_for_discretisation(columns, discretisation: str) -> list[str]:
    """The columns a model at one discretisation sees: that level's features plus every
    feature that does not depend on the discretisation."""
    return [c for c in columns if discretisation_of(c) in (None, discretisation)]


def discretisations_in(columns) -> list[str]:
    """Discretisations present among ``columns`` ordered by method then level."""
    found = {d for d in map(discretisation_of, columns) if d is not None}
    return sorted(found, key=discretisation_sort_key)


def save_tables(out_dir, **tables: pd.DataFrame) -> dict[str, Path]:
    """Write each table as ``<name>.csv`` (with its column types in ``<name>.schema.json``)
    and ``<name>.parquet`` into ``out_dir``.

    Read a CSV back with :func:`neurorad.io.tables.read_table_csv` (plain ``pd.read_csv``
    turns a model named ``null`` or a subject named ``NA`` into NaN).
    """
    from neurorad.io.tables import write_table_csv

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in tables.items():
        frame = table.reset_index() if _has_named_index(table) else table
        write_table_csv(frame, out_dir / f"{name}.csv")
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        written[name] = out_dir / f"{name}.csv"
    return written


def _has_named_index(table: pd.DataFrame) -> bool:
    return any(n is not None for n in table.index.names)


def parallel_jobs(workers=None) -> int:
    """Processes for the outer cross-validation splits: ``workers`` when given, else the CPUs
    this process may use. Model fitting is single-threaded per split, so on a 2-core machine
    two splits at a time roughly halve the modelling time (the notebooks pass it as
    ``n_jobs`` to ``neurorad.modeling.evaluate``)."""
    if workers is not None:
        if isinstance(workers, bool) or int(workers) != workers or workers < 1:
            raise StudyInputError(f"workers must be a positive integer, got {workers!r}")
        return int(workers)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # platforms without CPU affinity
        return max(1, os.cpu_count() or 1)


#: Environment variable naming the folder relative paths resolve against.
PROJECT_DIR_VARIABLE = "NEURORAD_PROJECT_DIR"


def project_dir(start=None) -> Path:
    """The folder relative paths of the notebooks' parameters resolve against.

    ``$NEURORAD_PROJECT_DIR`` when set; else the neurorad checkout holding ``start`` (default:
    the working directory), i.e. the nearest folder at or above it with ``pyproject.toml``
    and ``neurorad/__init__.py``; else ``start`` itself. So a notebook kernel that JupyterLab
    starts in ``notebooks/`` finds ``work/cohorts/...`` at the checkout root, as the command
    line run from the root does.
    """
    override = os.environ.get(PROJECT_DIR_VARIABLE)
    if override:
        return Path(os.path.expanduser(override)).resolve()
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "neurorad" / "__init__.py").is_file():
            return folder
    return start


def resolve(path, base=None) -> Path:
    """``path`` as an absolute Path (relative to ``base``, default :func:`project_dir`)."""
    path = Path(os.path.expanduser(str(path)))
    return path if path.is_absolute() else (Path(base or project_dir()) / path).resolve()
