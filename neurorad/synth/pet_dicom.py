"""Write a synthetic PET volume as a DICOM PET Image Storage series (one file per slice).

The series carries what SUV needs (DICOM PS3.3 C.8.9.1 PET Series and Isotope modules):
``Units = BQML``, ``DecayCorrection = START`` (pixel values are decay-corrected to the series
start), ``PatientWeight``, ``RadiopharmaceuticalInformationSequence`` with
``RadionuclideTotalDose`` (Bq, at injection), ``RadiopharmaceuticalStartTime`` /
``RadiopharmaceuticalStartDateTime`` and ``RadionuclideHalfLife`` (1224 s for C-11),
``SeriesDate``/``SeriesTime`` and ``AcquisitionTime``.

SUV (body weight) = C [Bq/ml] * W [g] / (D [Bq] * 2^(-(t_series - t_injection) / T_half)).

Every number is rounded to its DICOM text form *before* it is used, so SUV recomputed from
the headers by hand equals the SUV NIfTI written beside the series (to float32 precision).
Patient name and id are the pseudonymous subject id; the birth date is a fixed fake value.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

from neurorad.synth.anatomy import Grid

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
C11_HALF_LIFE_S = 1224.0            # 20.4 min
FAKE_BIRTH_DATE = "19000101"
FIRST_SCAN_DATE = dt.date(2021, 1, 4)


@dataclass(frozen=True)
class PetScan:
    """Arrays exactly as stored in the series (after int quantisation), float32."""

    bqml: np.ndarray
    suv: np.ndarray
    suv_factor: float               # SUV = Bq/ml * suv_factor


def ds_value(value: float) -> float:
    """``value`` rounded to what a DICOM DS (decimal string, <= 16 chars) can hold."""
    return float(f"{value:.10g}")


def _uid(seed: int, subject_id: str, *parts) -> str:
    return generate_uid(entropy_srcs=["neurorad-synth", str(seed), subject_id, *map(str, parts)])


def _tm(seconds_of_day: int) -> str:
    h, rest = divmod(int(seconds_of_day), 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}{m:02d}{s:02d}.000000"


def write_pet_series(suv: np.ndarray, grid: Grid, folder: Path, subject_id: str, params: dict,
                     seed: int) -> PetScan:
    """Quantise ``suv`` to a uint16 Bq/ml series in ``folder``; return the stored arrays."""
    weight_kg = ds_value(params["weight_kg"])
    dose_bq = ds_value(params["dose_mbq"] * 1e6)
    injection_s = int(params["injection_seconds_of_day"])
    series_s = injection_s + int(round(params["uptake_minutes"] * 60))
    decayed_dose = dose_bq * 2.0 ** (-(series_s - injection_s) / C11_HALF_LIFE_S)
    suv_factor = weight_kg * 1000.0 / decayed_dose
    bqml = suv.astype(np.float64) / suv_factor

    date = (FIRST_SCAN_DATE + dt.timedelta(days=int(params["scan_day"]))).strftime("%Y%m%d")
    study_uid, series_uid, frame_uid = (_uid(seed, subject_id, k) for k in
                                        ("study", "series", "frame"))
    folder.mkdir(parents=True, exist_ok=True)
    stored_bqml = np.empty(suv.shape, np.float64)
    origin_xyz = grid.origin[::-1]
    nz, ny, nx = suv.shape
    # Fields shared by all slices are set once; each slice copies the template and sets the
    # fields that change (every one of them, for every slice: element objects are shared).
    template = _slice_dataset(subject_id, date, injection_s, series_s, weight_kg, dose_bq)
    template.StudyInstanceUID, template.SeriesInstanceUID = study_uid, series_uid
    template.FrameOfReferenceUID = frame_uid
    template.NumberOfSlices = nz
    template.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    template.PixelSpacing = [grid.spacing[1], grid.spacing[2]]
    template.SliceThickness = grid.spacing[0]
    template.SpacingBetweenSlices = grid.spacing[0]
    template.Rows, template.Columns = ny, nx
    template.SamplesPerPixel = 1
    template.PhotometricInterpretation = "MONOCHROME2"
    template.BitsAllocated, template.BitsStored, template.HighBit = 16, 16, 15
    template.PixelRepresentation = 0
    template.RescaleIntercept, template.RescaleType = 0, "BQML"
    for k in range(nz):
        peak = float(bqml[k].max())
        slope = ds_value(peak / 65535.0) if peak > 0 else 1.0
        pixels = np.clip(np.rint(bqml[k] / slope), 0, 65535).astype(np.uint16)
        stored_bqml[k] = pixels * slope
        ds = Dataset(template)
        ds.SOPInstanceUID = _uid(seed, subject_id, "slice", k)
        ds.InstanceNumber = k + 1
        ds.ImageIndex = k + 1
        z_mm = origin_xyz[2] + k * grid.spacing[0]
        ds.ImagePositionPatient = [ds_value(origin_xyz[0]), ds_value(origin_xyz[1]),
                                   ds_value(z_mm)]
        ds.SliceLocation = ds_value(z_mm)
        ds.RescaleSlope = slope
        ds.PixelData = pixels.tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = PET_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.save_as(folder / f"IM{k + 1:04d}.dcm", enforce_file_format=True)
    return PetScan(stored_bqml.astype(np.float32),
                   (stored_bqml * suv_factor).astype(np.float32), suv_factor)


def _slice_dataset(subject_id: str, date: str, injection_s: int, series_s: int,
                   weight_kg: float, dose_bq: float) -> Dataset:
    """Header fields shared by every slice of the series."""
    ds = Dataset()
    ds.SOPClassUID = PET_IMAGE_STORAGE
    ds.Modality = "PT"
    ds.PatientName = subject_id
    ds.PatientID = subject_id
    ds.PatientBirthDate = FAKE_BIRTH_DATE
    ds.PatientSex = "O"
    ds.PatientWeight = weight_kg
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _tm(series_s)
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.SeriesDescription = "MET PET brain (synthetic)"
    ds.Manufacturer = "neurorad synthetic"
    ds.Units = "BQML"
    ds.DecayCorrection = "START"
    ds.CorrectedImage = ["DECY", "ATTN", "SCAT"]
    ds.SeriesType = ["STATIC", "IMAGE"]
    ds.CountsSource = "EMISSION"
    ds.ActualFrameDuration = 600000          # ms
    ds.FrameReferenceTime = 0
    ds.DecayFactor = 1.0
    drug = Dataset()
    drug.Radiopharmaceutical = "Methionine C^11^"
    drug.RadiopharmaceuticalStartTime = _tm(injection_s)
    drug.RadiopharmaceuticalStartDateTime = date + _tm(injection_s)
    drug.RadionuclideTotalDose = dose_bq
    drug.RadionuclideHalfLife = C11_HALF_LIFE_S
    drug.RadionuclidePositronFraction = 0.998
    ds.RadiopharmaceuticalInformationSequence = pydicom.Sequence([drug])
    return ds
