r"""Deep-learning glioma WHO grading: 3-D DenseNet on whole MRI studies vs 2-D ResNeSt on slices.

Published design (Danilov et al., Stud Health Technol Inform 2022;290:675-678): 707 MRI
studies / 17,730 slices, grades I-IV; a 3-D DenseNet with one object = one MRI study and a
2-D ResNeSt-200e with one object = one slice; Adam, learning rate 1e-4, cross-entropy.
Published: 3-D ACC 83 %, ROC AUC 0.95; 2-D ACC 50 %, ROC AUC 0.72. Nothing says whether the
slices of one patient, or the several studies of one patient, were kept together.

What this module does
---------------------
* :func:`load_cohort` reads a manifest (one subject = one MRI study, ``group`` = patient)
  into normalised multi-channel volumes and axial slices through the tumour.
* :func:`grouped_folds` splits *patients* (stratified by grade): every study and slice of a
  patient is in the same fold; :func:`run_arm` trains one network per fold. The 2-D arm is
  also run with a slice-level split (``split="leaky"``: slices of one study land in training
  and test), the design that nothing in the publication excludes.
* :func:`unit_folds` scores the 3-D arm per study and the 2-D arm per slice *and* per study
  (slice probabilities averaged), so the two models are compared on the same objects.
* :func:`score` gives accuracy, balanced accuracy, macro one-vs-rest ROC AUC, Brier score and
  per-grade precision (``ppv``), recall (``sens``) and F1, each with a patient-bootstrap
  interval (:func:`neurorad.modeling.scoring.summarise`); a ``null`` model (training-set class
  frequencies) is the chance reference.
* :func:`permuted_grades` is the null-label control: grades permuted among patients.
"""
from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage

from neurorad.modeling.evaluate import TEST_COLUMNS, EvaluationResult
from neurorad.modeling.scoring import (UnitFold, bootstrap_counts, jackknife_weights,
                                       summarise)
from neurorad.modeling.splits import Split, kfold_splits, permuted_labels
from neurorad.studies.common import StudyInputError

SEQUENCES = ("T1", "T1c", "FLAIR")
#: Arms of the study: network -> what one sample is.
ARMS = {"densenet3d": "study", "resnest2d": "slice"}


@dataclass
class GradingData:
    """A grading cohort in memory.

    Attributes
    ----------
    studies : DataFrame -- one row per MRI study (index: study id) with ``patient``, the
        target column(s) and ``n_slices``
    volumes : float32 array (n_studies, channels, z, y, x) -- normalised (see
        :func:`normalise`)
    slices : float32 array (n_slices, channels, y, x) -- axial slices through the tumour
    slice_study : int array (n_slices,) -- row of ``studies`` each slice comes from
    target : str -- the target column; ``classes`` its classes in order
    sequences : tuple -- channel order
    downsample : int -- block-averaging factor applied to the stored volumes
    manifest : the loaded :class:`~neurorad.io.manifest.Manifest`
    """

    studies: pd.DataFrame
    volumes: np.ndarray
    slices: np.ndarray
    slice_study: np.ndarray
    target: str
    classes: tuple
    sequences: tuple
    downsample: int = 1
    manifest: object = None

    @property
    def patients(self) -> np.ndarray:
        return self.studies["patient"].to_numpy()

    def codes(self, labels=None) -> np.ndarray:
        """Class codes (0..K-1) of the studies for ``labels`` (default: the target column)."""
        values = self.studies[self.target].astype(str).to_numpy() if labels is None else \
            np.asarray(labels, str)
        return np.searchsorted(np.asarray(self.classes, str), values)

    def summary(self) -> pd.DataFrame:
        """Patients, studies and slices per class."""
        t = self.studies
        return pd.DataFrame({
            "patients": t.groupby(self.target, observed=True)["patient"].nunique(),
            "studies": t.groupby(self.target, observed=True).size(),
            "slices": t.groupby(self.target, observed=True)["n_slices"].sum()}).reindex(
                list(self.classes)).T.rename_axis("count")


def normalise(volume: np.ndarray) -> np.ndarray:
    r"""Intensity normalisation of one sequence: :math:`x / m - 1`, with :math:`m` the median
    of the head (voxels above 10 % of the 99th percentile).

    Scanner gain is multiplicative, so dividing by a robust head level removes it; the
    result is 0 at the typical head intensity.
    """
    v = np.asarray(volume, np.float32)
    head = v[v > 0.1 * np.percentile(v, 99)]
    level = float(np.median(head)) if head.size else 0.0
    if level <= 0:
        raise ValueError("the image has no positive head intensities to normalise by")
    return v / np.float32(level) - np.float32(1.0)


def block_mean(volume: np.ndarray, factor: int) -> np.ndarray:
    """Average non-overlapping ``factor``-voxel blocks along every axis (edge-padded)."""
    if factor == 1:
        return volume
    pad = [(0, (-n) % factor) for n in volume.shape]
    v = np.pad(volume, pad, mode="edge")
    shape = [s for n in v.shape for s in (n // factor, factor)]
    return v.reshape(shape).mean(axis=tuple(range(1, 2 * v.ndim, 2)))


def tumour_slices(mask: np.ndarray, n: int) -> np.ndarray:
    """Indices of up to ``n`` axial slices spread evenly over the tumour's extent in z.

    ``mask`` is boolean (z, y, x). Returns the slices with tumour when fewer than ``n``.
    """
    z = np.flatnonzero(mask.any(axis=(1, 2)))
    if len(z) == 0:
        return z
    if len(z) <= n:
        return z
    picks = np.linspace(0, len(z) - 1, n)
    return z[np.unique(np.round(picks).astype(int))]


def load_cohort(manifest_path, data_root=None, *, target: str = "grade",
                sequences=SEQUENCES, roi: str = "tumour", n_slices: int = 4,
                downsample: int = 1, study: str | None = None,
                progress: bool = False) -> GradingData:
    """Read a grading manifest into memory (see :class:`GradingData`).

    Every study must have the ``sequences`` and the ``roi`` (its tumour label, used only to
    choose the slices of the 2-D arm) and all studies one grid shape; studies without a
    value of ``target`` are left out with a message. Problems are collected and reported
    together, naming the study and file. ``study`` (``"grading"``) generates the demo cohort
    when the manifest is the notebook's default and missing
    (:func:`~neurorad.studies.common.load_checked_manifest`).
    """
    from neurorad.io.images import image_to_array, read_image, roi_mask
    from neurorad.studies.common import load_checked_manifest

    manifest, _ = load_checked_manifest(manifest_path, data_root, study=study)
    if target not in manifest.targets:
        raise StudyInputError(f"{manifest.path}: no target {target!r} (targets: "
                              f"{', '.join(manifest.targets)})")
    if int(downsample) < 1:
        raise StudyInputError(f"downsample must be a positive integer, got {downsample!r}")
    spec = manifest.targets[target]
    problems, rows, volumes, slices, slice_study = [], [], [], [], []
    shape = None
    skipped = []
    subjects = manifest.subjects
    for i, s in enumerate(subjects):
        if s.targets.get(target) is None:
            skipped.append(s.id)
            continue
        missing = [q for q in sequences if q not in s.images]
        if missing or roi not in s.rois:
            problems.append(f"subject {s.id}: missing "
                            f"{', '.join(missing + ([] if roi in s.rois else [f'ROI {roi}']))}")
            continue
        try:
            channels = [image_to_array(read_image(s.images[q].path, subject=s.id, role=q,
                                                  data_root=manifest.data_root))[0]
                        for q in sequences]
            ref = s.rois[roi]
            mask_img = read_image(s.masks[ref.mask].path, subject=s.id, role=ref.mask,
                                  data_root=manifest.data_root)
            mask = roi_mask(mask_img, int(ref.label))
        except Exception as exc:  # noqa: BLE001 - collect every unreadable study
            problems.append(f"subject {s.id}: {exc}")
            continue
        shapes = {c.shape for c in channels} | {mask.shape}
        if len(shapes) > 1:
            problems.append(f"subject {s.id}: sequences and mask differ in shape {sorted(shapes)}")
            continue
        if shape is None:
            shape = channels[0].shape
        elif channels[0].shape != shape:
            problems.append(f"subject {s.id}: grid {channels[0].shape} differs from the "
                            f"cohort's {shape} (resample the images to one grid)")
            continue
        if not mask.any():
            problems.append(f"subject {s.id}: ROI {roi} is empty")
            continue
        try:
            volume = np.stack([block_mean(normalise(c), downsample) for c in channels])
        except ValueError as exc:
            problems.append(f"subject {s.id}: {exc}")
            continue
        small_mask = block_mean(mask.astype(np.float32), downsample) > 0
        picked = tumour_slices(small_mask, n_slices)
        volumes.append(volume.astype(np.float32))
        slices.extend(volume[:, z] for z in picked)
        slice_study.extend([len(rows)] * len(picked))
        rows.append({"study": s.id, "patient": s.group, target: str(s.targets[target]),
                     **{k: v for k, v in s.targets.items() if k != target},
                     "n_slices": len(picked)})
        if progress and (i + 1) % 25 == 0:
            print(f"loaded {i + 1}/{len(subjects)} studies", file=sys.stderr, flush=True)
    if problems:
        raise StudyInputError(f"{manifest.path}: {len(problems)} studies cannot be used:\n"
                              + "\n".join(problems))
    if skipped:
        print(f"{len(skipped)} studies without a {target!r} value left out: "
              f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}")
    if not rows:
        raise StudyInputError(f"{manifest.path}: no study to analyse")
    studies = pd.DataFrame(rows).set_index("study")
    classes = tuple(str(c) for c in (spec.classes or sorted(studies[target].unique())))
    present = [c for c in classes if (studies[target] == c).any()]
    return GradingData(studies, np.stack(volumes), np.stack(slices),
                       np.asarray(slice_study, int), target, tuple(present), tuple(sequences),
                       int(downsample), manifest)


# ----------------------------------------------------------------------------- folds
def grouped_folds(data: GradingData, n_folds: int, seed: int, labels=None) -> list[Split]:
    """Folds of *studies*, grouped by patient and stratified by class (one repeat)."""
    y = data.codes(labels)
    per_class = pd.Series(data.patients).groupby(y).nunique()
    if len(per_class) < 2 or per_class.min() < n_folds:
        raise StudyInputError(f"{n_folds} grouped folds need at least {n_folds} patients per "
                              f"class; patients per class: {per_class.to_dict()}")
    return kfold_splits(y, data.patients, task="classification", n_folds=n_folds, repeats=1,
                        seed=seed, grouped=True)


def slice_folds(data: GradingData, study_folds: list[Split]) -> list[Split]:
    """The study folds carried over to slices (a slice is tested with its study)."""
    out = []
    for f in study_folds:
        out.append(Split(f.repeat, f.fold, np.flatnonzero(np.isin(data.slice_study, f.train)),
                         np.flatnonzero(np.isin(data.slice_study, f.test))))
    return out


def leaky_slice_folds(data: GradingData, n_folds: int, seed: int, labels=None) -> list[Split]:
    """Folds of *slices* ignoring study and patient (stratified by class): the leaky design."""
    y = data.codes(labels)[data.slice_study]
    return kfold_splits(y, np.arange(len(y)), task="classification", n_folds=n_folds,
                        repeats=1, seed=seed, grouped=False)


def leaky_study_folds(data: GradingData, n_folds: int, seed: int, labels=None) -> list[Split]:
    """Folds of studies ignoring the patient: studies of one patient in training and test."""
    y = data.codes(labels)
    return kfold_splits(y, np.arange(len(y)), task="classification", n_folds=n_folds,
                        repeats=1, seed=seed, grouped=False)


def permuted_grades(data: GradingData, seed: int) -> np.ndarray:
    """Grades permuted among patients (all studies of a patient keep one label): the
    null-label control."""
    labels = data.studies[data.target].astype(str).to_numpy()
    return permuted_labels(labels, data.patients, np.random.default_rng([seed, 4242]))


# ----------------------------------------------------------------------------- training
@dataclass
class ArmRun:
    """Out-of-fold predictions of one network under one split design.

    ``folds[i]`` holds the test sample indices (studies for 3-D, slices for 2-D) and the
    predicted probabilities of fold ``i``; ``records`` the training records.
    """

    network: str
    split: str
    labels: str
    sample: str                          # "study" or "slice"
    folds: list = field(default_factory=list)      # (Split, proba, train_prior)
    records: list = field(default_factory=list)


def _train_fold(network, size, X_train, y_train, X_test, n_classes, config, seed, device,
                threads):
    """One fold's training, in this process or a worker (``threads`` intra-op threads)."""
    import torch

    from neurorad.modeling.deep import train_predict

    if threads:
        torch.set_num_threads(threads)
    return train_predict(network, size, X_train, y_train, X_test, n_classes=n_classes,
                         config=config, seed=seed, device=device)


def run_arm(data: GradingData, network: str, folds: list[Split], *, size: str, config,
            seed: int, device: str, split: str, labels=None, label_kind: str = "true",
            workers: int = 1, progress: bool = True) -> ArmRun:
    """Train ``network`` on each fold's training samples and predict its test samples.

    On the CPU every fold trains with one intra-op thread and ``workers`` folds run at once
    in separate processes, so the results do not depend on ``workers`` (floating-point sums
    over a different number of threads would differ in the last bits). On a GPU the folds
    run one after the other.
    """
    sample = ARMS[network]
    X = data.volumes if sample == "study" else data.slices
    y_study = data.codes(labels)
    y = y_study if sample == "study" else y_study[data.slice_study]
    run = ArmRun(network, split, label_kind, sample)
    seeds = [int(np.random.SeedSequence([seed, f.fold, 17]).generate_state(1)[0] % 2**31)
             for f in folds]
    jobs = [(network, size, X[f.train], y[f.train], X[f.test], len(data.classes), config,
             s, device, 1 if device == "cpu" else 0) for f, s in zip(folds, seeds)]
    if device == "cpu" and workers > 1:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=min(workers, len(jobs)))(delayed(_train_fold)(*j)
                                                           for j in jobs)
    else:
        outputs = [_train_fold(*j) for j in jobs]
    for f, (proba, record) in zip(folds, outputs):
        prior = np.bincount(y[f.train], minlength=len(data.classes)) / len(f.train)
        run.folds.append((f, proba, prior))
        run.records.append(record)
    if progress:
        print(f"{network}, {split} split, {label_kind} labels: {len(folds)} folds, "
              f"{sum(r.seconds for r in run.records):.0f} s of training "
              f"({sum(r.cpu_seconds for r in run.records):.0f} s CPU)", flush=True)
    return run


# ----------------------------------------------------------------------------- scoring
def _aggregate(index: np.ndarray, proba: np.ndarray, n_units: int):
    """Mean probability per unit (rows of ``proba`` grouped by ``index``)."""
    counts = np.bincount(index, minlength=n_units).astype(float)
    out = np.vstack([np.bincount(index, weights=proba[:, k], minlength=n_units)
                     for k in range(proba.shape[1])]).T
    return out / counts[:, None]


def unit_folds(run: ArmRun, data: GradingData, unit: str, labels=None,
               include_null: bool = True) -> list[UnitFold]:
    """The run's test predictions at evaluation ``unit`` (``study`` or ``slice``).

    A 2-D run scored per study averages the probabilities of the study's slices and predicts
    the class of largest mean probability. Each unit carries its patient code, so the
    bootstrap resamples patients. With ``include_null`` a ``null`` model (the training-set
    class frequencies for every unit) is added for each fold.
    """
    if run.sample == "study" and unit == "slice":
        raise ValueError("a 3-D (study) run cannot be scored per slice")
    patient_ids, patient_codes = np.unique(data.patients, return_inverse=True)
    y_study = data.codes(labels)
    classes = np.asarray(data.classes)
    out = []
    for split, proba, prior in run.folds:
        test = split.test
        if run.sample == "slice" and unit == "study":
            studies = data.slice_study[test]
            order, index = np.unique(studies, return_inverse=True)
            proba = _aggregate(index, proba, len(order))
            rows = order
        elif run.sample == "slice":
            rows = data.slice_study[test]
        else:
            rows = test
        y = classes[y_study[rows]]
        patients = patient_codes[rows]
        out.append(UnitFold(run.network, split.repeat, split.fold, patients, y, proba,
                            classes[np.argmax(proba, axis=1)], np.nan))
        if include_null:
            null = np.tile(prior, (len(rows), 1))
            out.append(UnitFold("null", split.repeat, split.fold, patients, y, null,
                                classes[np.argmax(null, axis=1)], np.nan))
    return out


def score(folds: list[UnitFold], data: GradingData, *, seed: int = 0,
          n_bootstrap: int = 1000, ci: float = 0.95) -> EvaluationResult:
    """Metrics with patient-bootstrap intervals (:func:`~neurorad.modeling.scoring.summarise`),
    packed as an :class:`~neurorad.modeling.evaluate.EvaluationResult` so that the plots of
    :mod:`neurorad.plots` (ROC, confusion, calibration) apply."""
    patient_ids = np.unique(data.patients)
    counts = bootstrap_counts(len(patient_ids), n_bootstrap, [seed, 104729])
    jack = jackknife_weights(len(patient_ids), seed=[seed, 1299709])
    n_test = np.mean([len(np.unique(f.patients)) for f in folds])
    ratio = n_test / max(len(patient_ids) - n_test, 1)
    classes = np.asarray(data.classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        metrics, per_fold = summarise(folds, counts, jack, "classification", classes, None,
                                      ci, "scaled", ratio)
    frames = []
    for f in folds:
        frame = pd.DataFrame({"model": f.model, "repeat": f.repeat, "fold": f.fold,
                              "group": patient_ids[f.patients], "y_true": f.y,
                              "y_pred": f.predicted})
        for k, c in enumerate(classes):
            frame[f"p_{c}"] = f.proba[:, k]
        frames.append(frame)
    units = pd.concat(frames, ignore_index=True)
    empty = pd.DataFrame()
    return EvaluationResult(metrics, units, empty, pd.DataFrame(columns=TEST_COLUMNS), per_fold,
                            units, empty, {"positive_class": None, "classes": list(classes),
                                           "n_bootstrap": n_bootstrap, "ci": ci})


def confidence_calibration(result: EvaluationResult, model: str, n_bins: int = 5
                           ) -> tuple[pd.DataFrame, float]:
    r"""Top-label calibration: accuracy against mean confidence (largest class probability)
    per confidence bin, and the expected calibration error
    :math:`ECE = \sum_b (n_b / N) |acc_b - conf_b|` (Guo et al., ICML 2017)."""
    units = result.unit_predictions[result.unit_predictions["model"] == model]
    p = units[[c for c in units.columns if c.startswith("p_")]].to_numpy()
    confidence = p.max(axis=1)
    correct = (units["y_true"] == units["y_pred"]).to_numpy()
    bins = np.clip((confidence * n_bins).astype(int), 0, n_bins - 1)
    table = pd.DataFrame({"bin": bins, "confidence": confidence, "correct": correct}).groupby(
        "bin").agg(confidence=("confidence", "mean"), accuracy=("correct", "mean"),
                   n=("correct", "size")).reset_index()
    ece = float((table["n"] / table["n"].sum() * (table["accuracy"] - table["confidence"]).abs()
                 ).sum())
    return table, ece


def confusion(result: EvaluationResult, model: str, classes) -> pd.DataFrame:
    """Counts of (true, predicted) over the out-of-fold predictions (rows: true grade)."""
    units = result.unit_predictions[result.unit_predictions["model"] == model]
    return pd.crosstab(units["y_true"], units["y_pred"]).reindex(
        index=list(classes), columns=list(classes), fill_value=0)


def label_metrics(result: EvaluationResult, **labels) -> pd.DataFrame:
    """The result's metric table with constant columns added (``network``, ``unit``,
    ``split``, ``labels``), for stacking the arms into one table."""
    return result.metrics.assign(**labels)


# ----------------------------------------------------------------------------- the study
@dataclass(frozen=True)
class StudyDesign:
    """What :func:`run_grading` trains and evaluates.

    ``size``: network size (``small`` / ``published``, :data:`neurorad.modeling.deep.NETWORKS`);
    ``config_3d`` / ``config_2d``: :class:`~neurorad.modeling.deep.TrainingConfig` of each arm;
    ``n_folds``: grouped folds; ``leaky_2d``: also the slice-level split of the 2-D arm;
    ``leaky_3d``: also the study-level split ignoring the patient for the 3-D arm;
    ``n_permutations``: also both arms on grades permuted among patients, that many times
    (the null-label control; each permutation retrains every fold).
    """

    size: str
    config_3d: object
    config_2d: object
    n_folds: int = 5
    leaky_2d: bool = True
    leaky_3d: bool = False
    n_permutations: int = 1


@dataclass
class GradingResults:
    """Everything :func:`run_grading` produced.

    ``metrics``: one long table (``network, unit, split, labels, permutation, model, metric,
    class, estimate, ci_low, ci_high, se, n_folds``; ``permutation`` 0 for the true grades,
    1..n for the null-label runs); ``results``: the
    :class:`~neurorad.modeling.evaluate.EvaluationResult` of every (network, unit, split,
    labels) for plots; ``training``: one row per trained network (fold, training samples,
    loss per epoch, time); ``folds``: the patient of every study and its grouped fold.
    """

    metrics: pd.DataFrame
    results: dict
    training: pd.DataFrame
    folds: pd.DataFrame


#: (network, unit) pairs scored: the 3-D arm per study, the 2-D arm per slice and per study.
SCORED_UNITS = (("densenet3d", "study"), ("resnest2d", "slice"), ("resnest2d", "study"))


def run_grading(data: GradingData, design: StudyDesign, *, seed: int = 0, device: str = "cpu",
                workers: int = 1, n_bootstrap: int = 1000, progress: bool = True
                ) -> GradingResults:
    """Train and evaluate both arms: grouped by patient, the leaky splits, the null labels."""
    grouped = grouped_folds(data, design.n_folds, seed)
    plans = [("densenet3d", "grouped", "true", grouped, None),
             ("resnest2d", "grouped", "true", slice_folds(data, grouped), None)]
    if design.leaky_3d:
        plans.append(("densenet3d", "leaky", "true", leaky_study_folds(data, design.n_folds,
                                                                       seed), None))
    if design.leaky_2d:
        plans.append(("resnest2d", "leaky", "true", leaky_slice_folds(data, design.n_folds,
                                                                      seed), None))
    plans = [p + (0,) for p in plans]
    for i in range(int(design.n_permutations)):
        permuted = permuted_grades(data, seed + i)
        null_folds = grouped_folds(data, design.n_folds, seed + 1 + i, permuted)
        plans += [("densenet3d", "grouped", "permuted", null_folds, permuted, i + 1),
                  ("resnest2d", "grouped", "permuted", slice_folds(data, null_folds), permuted,
                   i + 1)]
    frames, results, training = [], {}, []
    for network, split, kind, folds, labels, permutation in plans:
        config = design.config_3d if network == "densenet3d" else design.config_2d
        run = run_arm(data, network, folds, size=design.size, config=config, seed=seed,
                      device=device, split=split, labels=labels, label_kind=kind,
                      workers=workers, progress=progress)
        for (f, _, _), record in zip(run.folds, run.records):
            training.append({"network": network, "split": split, "labels": kind,
                             "permutation": permutation, "fold": f.fold, "n_train": record.n_train,
                             "n_test": len(f.test), "parameters": record.n_parameters,
                             "final_loss": record.loss_per_epoch[-1],
                             "loss_per_epoch": [round(v, 4) for v in record.loss_per_epoch],
                             "seconds": record.seconds, "cpu_seconds": record.cpu_seconds})
        for net, unit in SCORED_UNITS:
            if net != network:
                continue
            result = score(unit_folds(run, data, unit, labels), data, seed=seed,
                           n_bootstrap=n_bootstrap)
            results[(network, unit, split, kind if permutation <= 1 else
                     f"{kind} {permutation}")] = result
            frames.append(result.metrics.assign(network=network, unit=unit, split=split,
                                                labels=kind, permutation=permutation))
    metrics = pd.concat(frames, ignore_index=True)
    order = ["network", "unit", "split", "labels", "permutation", "model", "metric", "class",
             "estimate", "ci_low", "ci_high", "se", "n_folds"]
    fold_of = np.empty(len(data.studies), int)
    for f in grouped:
        fold_of[f.test] = f.fold
    folds = pd.DataFrame({"patient": data.patients, "grade": data.studies[data.target],
                          "grouped_fold": fold_of}, index=data.studies.index)
    return GradingResults(metrics[order], results, pd.DataFrame(training), folds)


def overview(metrics: pd.DataFrame, metric_names=("acc", "bacc", "roc_auc", "brier"),
             labels: str = "true") -> pd.DataFrame:
    """Rows (network, unit, split, model), columns the overall metrics as ``estimate [CI]``."""
    from neurorad.studies.validation import format_interval

    m = metrics[metrics["class"].isna() & metrics.metric.isin(metric_names)
                & (metrics.labels == labels)]
    m = m.assign(cell=[format_interval(e, lo, hi) for e, lo, hi in
                       zip(m.estimate, m.ci_low, m.ci_high)])
    table = m.pivot_table(index=["network", "unit", "split", "model"], columns="metric",
                          values="cell", aggfunc="first", sort=False)
    return table[[c for c in metric_names if c in table.columns]]


def per_grade(metrics: pd.DataFrame, network: str, unit: str, split: str = "grouped",
              metric_names=("ppv", "sens", "f1")) -> pd.DataFrame:
    """Per-grade precision (``ppv``), recall (``sens``) and F1 with intervals: rows grade,
    columns metric (the published per-grade table's layout)."""
    from neurorad.studies.validation import format_interval

    m = metrics[(metrics.network == network) & (metrics.unit == unit)
                & (metrics.split == split) & (metrics.labels == "true")
                & (metrics.model == network) & metrics["class"].notna()
                & metrics.metric.isin(metric_names)]
    m = m.assign(cell=[format_interval(e, lo, hi, 2) for e, lo, hi in
                       zip(m.estimate, m.ci_low, m.ci_high)])
    table = m.pivot_table(index="class", columns="metric", values="cell", aggfunc="first",
                          sort=False)
    return table[[c for c in metric_names if c in table.columns]].rename(
        columns={"ppv": "precision", "sens": "recall", "f1": "F1"})


def published_comparison(metrics: pd.DataFrame) -> pd.DataFrame:
    """Every published number next to ours: the 3-D arm per study; the 2-D arm per slice
    (the published unit) and per study (the 3-D arm's unit); grouped and leaky."""
    from neurorad.studies.published import published_table
    from neurorad.studies.validation import format_interval

    rows = []
    for p in published_table("grading").itertuples(index=False):
        units = ["study"] if p.model == "densenet3d" else ["slice", "study"]
        for unit in units:
            row = {"model": p.model, "unit": unit, "metric": p.metric, "grade": p[4],
                   "published": p.value}
            for split in ("grouped", "leaky"):
                hit = metrics[(metrics.network == p.model) & (metrics.model == p.model)
                              & (metrics.unit == unit) & (metrics.split == split)
                              & (metrics.labels == "true") & (metrics.metric == p.metric)
                              & (metrics["class"].fillna("") == p[4])]
                row[f"ours_{split}"] = (format_interval(*hit.iloc[0][["estimate", "ci_low",
                                                                       "ci_high"]])
                                        if len(hit) else "not run")
            rows.append(row)
    return pd.DataFrame(rows)


def pick(metrics: pd.DataFrame, network: str, unit: str, metric: str, *,
         split: str = "grouped", labels: str = "true", model: str | None = None):
    """The row of one overall metric (a Series with estimate, ci_low, ci_high), or None
    (for ``labels="permuted"``: the first permutation's)."""
    m = metrics[(metrics.network == network) & (metrics.unit == unit)
                & (metrics.split == split) & (metrics.labels == labels)
                & (metrics.model == (model or network)) & (metrics.metric == metric)
                & metrics["class"].isna()]
    return None if m.empty else m.iloc[0]


def permutation_test(metrics: pd.DataFrame, network: str = "densenet3d", unit: str = "study",
                     metric: str = "roc_auc") -> tuple[float | None, int]:
    r"""Label-permutation p-value of a grouped metric: :math:`p = (1 + \#\{T_\pi \ge T\}) /
    (1 + N)` over the ``N`` null-label runs (Phipson & Smyth 2010); ``(None, 0)`` without
    any."""
    observed = pick(metrics, network, unit, metric)
    null = metrics[(metrics.network == network) & (metrics.unit == unit)
                   & (metrics.split == "grouped") & (metrics.labels == "permuted")
                   & (metrics.model == network) & (metrics.metric == metric)
                   & metrics["class"].isna()]["estimate"].to_numpy()
    if observed is None or len(null) == 0:
        return None, 0
    return float((1 + np.sum(null >= observed.estimate - 1e-12)) / (1 + len(null))), len(null)


def headline(metrics: pd.DataFrame, *, notes: str = "", cohort: str = ""):
    """The study's headline: grouped 3-D macro ROC AUC with its interval, the published 0.95
    beside it; the 2-D arm's numbers (per slice and per study), the accuracies and the leaky
    2-D estimate go into ``extra`` and ``notes``."""
    from neurorad.studies.headline import Headline
    from neurorad.studies.published import headline_published, published_value

    main = pick(metrics, "densenet3d", "study", "roc_auc")
    if main is None:
        raise ValueError("no grouped 3-D ROC AUC to report as headline")
    leaky = pick(metrics, "densenet3d", "study", "roc_auc", split="leaky")
    pub = headline_published("grading")
    p_value, n_permutations = permutation_test(metrics)
    extra, text = {}, []
    for network, unit, metric in (("densenet3d", "study", "acc"),
                                  ("resnest2d", "slice", "roc_auc"),
                                  ("resnest2d", "slice", "acc"),
                                  ("resnest2d", "study", "roc_auc")):
        row = pick(metrics, network, unit, metric)
        if row is None:
            continue
        value = published_value("grading", "who_grade", network, metric)
        key = f"{network}_{unit}_{metric}"
        extra[key] = {"estimate": float(row.estimate), "ci_low": float(row.ci_low),
                      "ci_high": float(row.ci_high),
                      "published": None if value is None or unit != ("study" if network ==
                                                                     "densenet3d" else "slice")
                      else value.value}
        shown = f"{'3-D' if network == 'densenet3d' else '2-D'} {metric.upper().replace('_', ' ')} " \
                f"per {unit} {row.estimate:.2f} [{row.ci_low:.2f}; {row.ci_high:.2f}]"
        if extra[key]["published"] is not None:
            shown += f" (published {extra[key]['published']:.2f})"
        text.append(shown)
    leaky_2d = pick(metrics, "resnest2d", "slice", "roc_auc", split="leaky")
    if leaky_2d is not None:
        text.append(f"2-D ROC AUC with slices split regardless of patient {leaky_2d.estimate:.2f}")
    return Headline(study="grading", metric="roc_auc", model="densenet3d",
                    estimate=float(main.estimate), ci_low=float(main.ci_low),
                    ci_high=float(main.ci_high), task="who_grade",
                    leaky=None if leaky is None else float(leaky.estimate),
                    published=None if pub is None else pub.value,
                    published_text="" if pub is None else
                    "3-D DenseNet: ACC 0.83, ROC AUC 0.95; 2-D ResNeSt-200e (per slice): "
                    "ACC 0.50, ROC AUC 0.72 (" + pub.source + ")",
                    chance=0.5, notes="; ".join(x for x in (notes, *text) if x), extra=extra,
                    cohort=cohort, permutation_p=p_value, n_permutations=n_permutations,
                    leaky_note="" if leaky is not None else
                    "3-D leaky split not run (leaky_3d=False); the 2-D slice-level leaky "
                    "estimate is in the notes")


# ----------------------------------------------------------------------------- notebook
def prepare_run(namespace: dict) -> None:
    """The setup of the grading notebook, right after its parameters cell.

    Resolves ``device`` (``torch_device``), the network ``size`` and ``downsample`` (``auto``:
    published sizes at full resolution on a GPU, the small networks on volumes block-averaged
    by 2 on the CPU); quick mode (tests) lowers the folds to 3 and the epochs to 2. Defines
    ``output``, ``design`` (:class:`StudyDesign`), ``n_bootstrap``, ``n_workers``, ``notes``
    and ``PARAMETERS``.
    """
    from neurorad.modeling.deep import TrainingConfig, default_size, resolve_device
    from neurorad.studies.common import parallel_jobs, resolve
    from neurorad.studies.notebooks import parameter_values

    ns = namespace
    pd.set_option("display.max_columns", 30, "display.width", 160, "display.precision", 3)
    ns["output"] = resolve(ns["output_dir"])
    ns["output"].mkdir(parents=True, exist_ok=True)
    device = resolve_device(ns["device"])
    ns["torch_device"] = device
    if ns["size"] == "auto":
        ns["size"] = default_size(device)
    if ns["downsample"] == "auto":
        ns["downsample"] = 1 if device == "cuda" else 2
    if ns["quick"]:
        ns["outer_folds"] = min(ns["outer_folds"], 3)
        ns["epochs_3d"], ns["epochs_2d"] = min(ns["epochs_3d"], 2), min(ns["epochs_2d"], 2)
    unknown = set(ns["models"]) - set(ARMS)
    if unknown or set(ns["models"]) != set(ARMS):
        raise StudyInputError(f"models: the study trains both networks {sorted(ARMS)}; got "
                              f"{ns['models']!r}")
    if ns["repeats"] != 1:
        raise StudyInputError("repeats: the networks are trained once per fold (repeats = 1)")
    ns["design"] = StudyDesign(
        size=ns["size"],
        config_3d=TrainingConfig(ns["epochs_3d"], ns["batch_3d"], ns["learning_rate"],
                                 ns["class_weighting"]),
        config_2d=TrainingConfig(ns["epochs_2d"], ns["batch_2d"], ns["learning_rate"],
                                 ns["class_weighting"]),
        n_folds=ns["outer_folds"], leaky_2d=True, leaky_3d=bool(ns["leaky_3d"]),
        n_permutations=int(ns["n_permutations"]))
    ns["n_bootstrap"] = 200 if ns["quick"] else 1000
    ns["n_workers"] = parallel_jobs(ns["workers"]) if device == "cpu" else 1
    ns["notes"] = "; ".join(x for x in (ns["run_label"], "quick mode" if ns["quick"] else "",
                                        f"{ns['size']} networks on {device}") if x)
    ns["PARAMETERS"] = parameter_values("grading", ns)


def plot_examples(data: GradingData, per_class: int = 1):
    """One axial slice (the middle tumour slice) of every sequence for ``per_class`` studies
    of each class: rows study, columns sequence."""
    import matplotlib.pyplot as plt

    rows = []
    for cls in data.classes:
        members = np.flatnonzero(data.studies[data.target].astype(str).to_numpy() == cls)
        rows += [(cls, i) for i in members[:per_class]]
    n_seq = len(data.sequences)
    fig, axes = plt.subplots(len(rows), n_seq, figsize=(1.9 * n_seq, 1.9 * len(rows)),
                             squeeze=False)
    for r, (cls, study) in enumerate(rows):
        slices = np.flatnonzero(data.slice_study == study)
        image = data.slices[slices[len(slices) // 2]]
        for c, name in enumerate(data.sequences):
            ax = axes[r, c]
            ax.imshow(image[c], cmap="gray", vmin=-1.0, vmax=1.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize="small")
            if c == 0:
                ax.set_ylabel(f"grade {cls}", fontsize="small")
    fig.tight_layout()
    return fig


def arms_table(metrics: pd.DataFrame, labels: str = "true") -> pd.DataFrame:
    """Overall rows of each network (not the null model) with an ``arm`` column
    ('3-D per study', '2-D per slice', '2-D per study') for :func:`neurorad.plots.plot_grouped_vs_leaky`."""
    names = {("densenet3d", "study"): "3-D per study", ("resnest2d", "slice"): "2-D per slice",
             ("resnest2d", "study"): "2-D per study"}
    m = metrics[(metrics.model == metrics.network) & metrics["class"].isna()
                & (metrics.labels == labels)]
    return m.assign(arm=[names[(n, u)] for n, u in zip(m.network, m.unit)])


def methods_text(data: GradingData, design: StudyDesign, *, device: str, seed: int,
                 versions: dict, descriptions: list[dict]) -> str:
    """A methods paragraph generated from the run's data and design (Markdown)."""
    c3, c2 = design.config_3d, design.config_2d
    nets = "; ".join(f"{d['family']}: {d['variant']} ({d['parameters'] / 1e6:.2f} M "
                     "parameters)" for d in descriptions)
    shape = " x ".join(str(n) for n in data.volumes.shape[2:])
    counts = data.summary()
    mix = ", ".join(f"grade {g} {int(counts.loc['patients', g])}" for g in data.classes)
    parts = [
        f"{data.studies['patient'].nunique()} patients ({mix}) with {len(data.studies)} MRI "
        f"studies ({', '.join(data.sequences)}) were analysed. Each sequence was divided by "
        "its median head intensity (minus 1)"
        + (f" and block-averaged by {data.downsample}" if data.downsample > 1 else "")
        + f", giving volumes of {shape} voxels; the 2-D arm used up to "
        f"{int(data.studies['n_slices'].max())} axial slices per study spread over the "
        f"tumour ({len(data.slices)} slices).",
        f"Networks, trained from random initialisation (no pretrained weights): {nets}.",
        f"Both were trained with Adam (learning rate {c3.lr:g}) and cross-entropy with "
        f"{'inverse-frequency class weights' if c3.class_weighting == 'balanced' else 'no class weights'}, "
        f"{c3.epochs} epochs in mini-batches of {c3.batch_size} volumes (3-D) and "
        f"{c2.epochs} epochs in mini-batches of {c2.batch_size} slices (2-D), without data "
        "augmentation.",
        f"Validation: {design.n_folds}-fold cross-validation grouped by patient (all studies "
        "and slices of a patient in one fold) and stratified by grade; the 2-D arm was also "
        "validated with slices split regardless of study and patient (leaky). 2-D slice "
        "probabilities were averaged per study for a study-level comparison with the 3-D arm. "
        "Metrics were computed per test fold and averaged; 95 % intervals come from a "
        "patient-level bootstrap stretched to the jackknife and corrected cross-validation "
        "standard errors (neurorad.modeling.scoring). A null model predicting the training "
        "grade frequencies is the chance reference"
        + (f"; the null-label control repeated the grouped validation {design.n_permutations} "
           "time(s) with grades permuted among patients." if design.n_permutations else "."),
        f"Seed {seed}; deterministic algorithms; device {device}; PyTorch "
        f"{versions.get('torch')}, MONAI {versions.get('monai')}, timm {versions.get('timm')}.",
    ]
    return " ".join(parts)
