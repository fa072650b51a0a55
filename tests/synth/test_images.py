"""Written cohorts: validation, determinism, planted properties measured on the files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import yaml
from scipy import ndimage
from scipy.stats import spearmanr

from neurorad.io.validate import validate_manifest
from neurorad.synth import make_cohort
from neurorad.synth.cohort import study_module


def _read(path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(float)


def _manifest(path):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _tree_hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("study", ["nf2", "pet", "dai", "glioma"])
def test_manifest_validates(small_cohorts, study):
    report = validate_manifest(small_cohorts[study])
    assert report.ok, "\n".join(str(p) for p in report.problems)
    assert not [p for p in report.problems if p.severity == "error"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    first = make_cohort("pet", tmp_path / "a", seed=11, n_subjects=2, workers=1, progress=False)
    second = make_cohort("pet", tmp_path / "b", seed=11, n_subjects=2, workers=2,
                         progress=False)
    other = make_cohort("pet", tmp_path / "c", seed=12, n_subjects=2, workers=1,
                        progress=False)
    a, b, c = (_tree_hashes(m.parent) for m in (first, second, other))
    assert len(a) > 100 and a == b                    # DICOM UIDs included
    assert a["pet-001/suv.nii.gz"] != c["pet-001/suv.nii.gz"]


def test_nf2_heterogeneity_follows_planted_parameter(small_cohorts):
    """T2 coefficient of variation in each lesion's eroded mask tracks the planted h."""
    manifest = small_cohorts["nf2"]
    plan = study_module("nf2").plan_cohort(3, False, 6)
    planned, measured, volumes = [], [], []
    for subject in plan.subjects:
        t2 = _read(manifest.parent / subject.images["T2"])
        labels = _read(manifest.parent / subject.masks["mask"])
        for k, lesion in enumerate(subject.params["lesions"], start=1):
            core = ndimage.binary_erosion(labels == k)
            values = t2[core]
            planned.append(lesion["heterogeneity"])
            measured.append(values.std() / values.mean())
            volumes.append((labels == k).sum())
    assert min(volumes) > 20
    assert spearmanr(planned, measured)[0] > 0.6


def test_nf2_masks_are_drawn_slice_by_slice(small_cohorts):
    """Stacked per-slice drawings: outlines jitter, so consecutive slices' centroids wander."""
    manifest = small_cohorts["nf2"]
    labels = _read(manifest.parent / _manifest(manifest)["subjects"][0]["mask"])
    lesion = labels == 1
    zs = [z for z in range(lesion.shape[0]) if lesion[z].sum() >= 8]
    centroids = np.array([ndimage.center_of_mass(lesion[z]) for z in zs])
    steps = np.linalg.norm(np.diff(centroids, axis=0), axis=1)
    assert steps.max() > 0.1       # a smooth ellipsoid cut in slices would be (near) constant


def test_dai_injury_measured_against_uninjured_twin(small_cohorts, tmp_path):
    """Re-render a patient with severity 0 (same random stream): injured ROIs lose FA/MK and
    gain MD by the planted amount, healthy grey-matter ROIs far from injuries do not change."""
    module = study_module("dai")
    plan = module.plan_cohort(3, False, 8)
    patient = max((s for s in plan.subjects if s.targets["diagnosis"] == "patient"),
                  key=lambda s: s.params["severity"])
    twin = type(patient)(**{**patient.__dict__, "params": {**patient.params, "severity": 0.0}})
    module.render_subject(twin, tmp_path, 3)
    injured_dir = small_cohorts["dai"].parent
    rois = _read(injured_dir / patient.masks["mask"])
    names = list(patient.rois)
    s = patient.params["severity"]
    drops = []
    for name, hit in patient.params["injured"].items():
        k = patient.rois[name]
        ratio = {m: _read(injured_dir / patient.images[m])[rois == k].mean()
                 / _read(tmp_path / twin.images[m])[rois == k].mean() for m in ("FA", "MD", "MK")}
        if hit:
            drops.append((1 - ratio["FA"]) / (module.INJURY_SCALE * s))
            assert ratio["MD"] > 1.0 and ratio["MK"] < 1.0
    # Gaussian blob (SD 6 mm) averaged over a disc of radius <= 7 mm: 0.5 <= mean g <= 1.
    assert drops and 0.45 <= np.mean(drops) <= 1.0
    assert len(names) == 15


def test_dai_maps_plausible_in_white_matter(small_cohorts):
    manifest = small_cohorts["dai"]
    subject = next(s for s in _manifest(manifest)["subjects"]
                   if s["targets"]["diagnosis"] == "volunteer")
    rois = _read(manifest.parent / subject["mask"])
    wm = np.isin(rois, [subject["rois"][r] for r in ("centrum_semiovale_L",
                                                     "centrum_semiovale_R")])
    maps = {m: _read(manifest.parent / p) for m, p in subject["images"].items()}
    assert 0.3 < maps["FA"][wm].mean() < 0.7
    assert 0.5e-3 < maps["MD"][wm].mean() < 1.0e-3
    assert 0.8 < maps["MK"][wm].mean() < 1.3
    tort = maps["AxEAD"] / np.where(maps["RadEAD"] > 0, maps["RadEAD"], np.nan)
    assert np.allclose(maps["TORT"][wm], tort[wm], rtol=3e-4)   # 13-bit mantissa storage
    assert all(np.isfinite(a).all() for a in maps.values())


def test_glioma_rois_alike_within_patient_and_follow_enhancement(small_cohorts):
    """ROI T1c/T1 ratio, normalised by normal white matter (sequences differ in gain), tracks
    the planted enhancement in non-necrotic tumours; ROIs of a patient are alike."""
    manifest = small_cohorts["glioma"]
    plan = study_module("glioma").plan_cohort(3, False, 8)
    ratios, enhancement = [], []
    for subject in plan.subjects:
        t1 = _read(manifest.parent / subject.images["T1"])
        t1c = _read(manifest.parent / subject.images["T1c"])
        labels = _read(manifest.parent / subject.masks["mask"])
        # Normal white matter: T1 in its band, far (> 40 mm) from the ROIs.
        far = ndimage.distance_transform_edt(labels == 0, sampling=2.0) > 40
        wm = far & (t1 > 750) & (t1 < 1000)
        reference = np.median(t1c[wm]) / np.median(t1[wm])
        per_roi = []
        for k in subject.rois.values():
            roi = labels == k
            assert roi.sum() == 125                               # 5 x 5 x 5 voxels
            per_roi.append(t1c[roi].mean() / t1[roi].mean() / reference)
        ratios.append(per_roi)
        enhancement.append(subject.params["enhancement"] if subject.params["necrosis"] == 0
                           else np.nan)
    means = np.array([np.mean(r) for r in ratios])
    solid = ~np.isnan(enhancement)
    assert solid.sum() >= 4
    assert spearmanr(np.array(enhancement)[solid], means[solid])[0] > 0.6
    within = np.mean([np.var(r, ddof=1) for r in ratios])
    between = np.var(means, ddof=1)
    assert between > 2 * within


def test_pet_dicom_suv_by_hand_equals_nifti(small_cohorts):
    manifest = small_cohorts["pet"]
    subject = _manifest(manifest)["subjects"][0]
    files = sorted((manifest.parent / subject["images"]["PET"]["path"]).glob("*.dcm"))
    slices = sorted((pydicom.dcmread(f) for f in files),
                    key=lambda d: float(d.ImagePositionPatient[2]))
    head = slices[0]
    assert head.Units == "BQML" and head.DecayCorrection == "START"
    assert head.PatientName == subject["id"] and head.PatientID == subject["id"]
    drug = head.RadiopharmaceuticalInformationSequence[0]
    assert float(drug.RadionuclideHalfLife) == pytest.approx(20.4 * 60)

    def seconds(tm: str) -> float:
        return int(tm[:2]) * 3600 + int(tm[2:4]) * 60 + float(tm[4:])

    elapsed = seconds(head.SeriesTime) - seconds(drug.RadiopharmaceuticalStartTime)
    assert drug.RadiopharmaceuticalStartDateTime.startswith(head.SeriesDate)
    assert 10 * 60 <= elapsed <= 30 * 60
    dose_at_scan = float(drug.RadionuclideTotalDose) * 0.5 ** (elapsed / 1224.0)
    bqml = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
                     for d in slices])
    suv_by_hand = bqml * float(head.PatientWeight) * 1000.0 / dose_at_scan
    suv = _read(manifest.parent / subject["images"]["SUV"])
    assert np.allclose(suv, suv_by_hand, rtol=1e-6, atol=1e-6)
    assert np.allclose(_read(manifest.parent / subject["id"] / "pet_bqml.nii.gz"), bqml,
                       rtol=1e-6)
    series = sitk.ImageSeriesReader()
    series.SetFileNames([str(f) for f in files])
    dicom_image = series.Execute()
    nifti = sitk.ReadImage(str(manifest.parent / subject["images"]["SUV"]))
    assert np.allclose(dicom_image.GetOrigin(), nifti.GetOrigin())
    assert np.allclose(dicom_image.GetSpacing(), nifti.GetSpacing())


def test_pet_targets_recomputed_from_images(small_cohorts):
    manifest = small_cohorts["pet"]
    for subject in _manifest(manifest)["subjects"]:
        suv = _read(manifest.parent / subject["images"]["SUV"])
        labels = _read(manifest.parent / subject["mask"])
        voi, ref = labels == subject["rois"]["tumour_voi"], labels == subject["rois"]["reference"]
        assert ref.sum() >= 100
        ref_mean = suv[ref].mean()
        tbr_max = suv[voi].max() / ref_mean
        hot = suv[voi][suv[voi] >= 1.3 * ref_mean]
        targets = subject["targets"]
        assert targets["tbr_max"] == pytest.approx(tbr_max, abs=1e-3)
        assert targets["tbr_mean"] == pytest.approx(hot.mean() / ref_mean, abs=1e-3)
        assert 1.9 - 0.01 <= tbr_max <= 5.0 + 0.01
        assert abs(np.log(targets["uptake_index"] / tbr_max)) < 4 * 0.08


def test_cli_prints_manifest_path_last(tmp_path, capsys):
    from neurorad.cli import main

    assert main(["demo-data", "pet", "--out", str(tmp_path), "--seed", "2",
                 "--n-subjects", "2", "--workers", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert Path(last) == tmp_path / "pet" / "manifest.yaml" and Path(last).exists()
