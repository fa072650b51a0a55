"""Small DICOM series written with pydicom for the scanner-data tests.

Every test series carries the identifiers in ``IDENTIFIERS`` so the privacy test can scan
outputs for them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PET_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
RTSTRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"

IDENTIFIERS = {
    "PatientName": "Doe^Jane",
    "PatientID": "MRN-98765",
    "PatientBirthDate": "19610317",
    "AccessionNumber": "ACC4242",
    "StudyDate": "20230611",
}
F18_HALF_LIFE_S = 6586.2


def _save(ds: Dataset, path: Path, sop_class: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _patient(ds: Dataset) -> None:
    ds.PatientName = IDENTIFIERS["PatientName"]
    ds.PatientID = IDENTIFIERS["PatientID"]
    ds.PatientBirthDate = IDENTIFIERS["PatientBirthDate"]
    ds.AccessionNumber = IDENTIFIERS["AccessionNumber"]
    ds.StudyDate = IDENTIFIERS["StudyDate"]


def _slice(modality: str, uids: tuple, k: int) -> Dataset:
    """Slice k of a series; ``uids`` = (study, series, frame of reference)."""
    ds = Dataset()
    _patient(ds)
    ds.Modality = modality
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = uids
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = k + 1
    return ds


def _image_plane(ds: Dataset, k: int, origin, spacing, shape) -> None:
    """Axial slice k: origin (x, y, z) mm of voxel (0, 0, 0), spacing (x, y, z)."""
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
    ds.PixelSpacing = [spacing[1], spacing[0]]           # row spacing (y), column spacing (x)
    ds.SliceThickness = spacing[2]
    ds.Rows, ds.Columns = shape[1], shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0


def write_pet_series(folder: Path, stored: np.ndarray, slopes, *, weight=70.0, height=1.75,
                     sex="M", dose=370e6, injection="100000", injection_dt="20230611100000",
                     series_date="20230611", series_time="110000", acquisition_times=None,
                     decay="START", units="BQML", corrected=("DECY", "ATTN"),
                     origin=(-10.0, -8.0, 20.0), spacing=(2.0, 2.5, 3.0), shuffle=False,
                     per_slice=None) -> list[Path]:
    """A PET series of ``stored`` (z, y, x uint16) with one ``RescaleSlope`` per slice.

    ``None`` for a keyword leaves its tag out; ``per_slice(k, ds)`` may edit slice k.
    """
    uids = (generate_uid(), generate_uid(), generate_uid())
    order = list(range(stored.shape[0]))
    if shuffle:
        order = order[::2] + order[1::2]
    paths = []
    for written, k in enumerate(order):
        ds = _slice("PT", uids, k)
        if weight is not None:
            ds.PatientWeight = weight
        if height is not None:
            ds.PatientSize = height
        if sex is not None:
            ds.PatientSex = sex
        if series_date is not None:
            ds.SeriesDate = series_date
        if series_time is not None:
            ds.SeriesTime = series_time
        if acquisition_times is not None:
            ds.AcquisitionDate = series_date or IDENTIFIERS["StudyDate"]
            ds.AcquisitionTime = acquisition_times[k]
        if units is not None:
            ds.Units = units
        if decay is not None:
            ds.DecayCorrection = decay
        if corrected is not None:
            ds.CorrectedImage = list(corrected)
        drug = Dataset()
        drug.Radiopharmaceutical = "Fluorodeoxyglucose"
        if dose is not None:
            drug.RadionuclideTotalDose = dose
        drug.RadionuclideHalfLife = F18_HALF_LIFE_S
        if injection is not None:
            drug.RadiopharmaceuticalStartTime = injection
        if injection_dt is not None:
            drug.RadiopharmaceuticalStartDateTime = injection_dt
        ds.RadiopharmaceuticalInformationSequence = Sequence([drug])
        _image_plane(ds, k, origin, spacing, stored.shape)
        ds.RescaleSlope, ds.RescaleIntercept = slopes[k], 0
        ds.PixelData = stored[k].astype(np.uint16).tobytes()
        if per_slice is not None:
            per_slice(k, ds)
        path = folder / f"slice{written:03d}.dcm"
        _save(ds, path, PET_STORAGE)
        paths.append(path)
    return paths


def write_mr_series(folder: Path, shape=(4, 12, 10), origin=(-10.0, -8.0, 20.0),
                    spacing=(1.0, 1.0, 2.0)) -> tuple[str, str, list[str]]:
    """An axial MR series; returns (frame of reference UID, series UID, SOP instance UIDs)."""
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    uids = []
    for k in range(shape[0]):
        ds = _slice("MR", (study_uid, series_uid, frame_uid), k)
        _image_plane(ds, k, origin, spacing, shape)
        ds.PixelData = (np.full(shape[1:], 100 + k, np.uint16)).tobytes()
        _save(ds, folder / f"mr{k:03d}.dcm", MR_STORAGE)
        uids.append(ds.SOPInstanceUID)
    return frame_uid, series_uid, uids


def write_rtstruct(path: Path, frame_uid: str, structures: dict[str, list[np.ndarray]]) -> None:
    """An RTSTRUCT with ``structures``: name -> list of closed planar contours, each an
    (n, 3) array of patient coordinates (x, y, z) in mm."""
    ds = Dataset()
    _patient(ds)
    ds.Modality = "RTSTRUCT"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StructureSetLabel = "test"
    ref_frame = Dataset()
    ref_frame.FrameOfReferenceUID = frame_uid
    ds.ReferencedFrameOfReferenceSequence = Sequence([ref_frame])
    rois, contours, observations = [], [], []
    for number, (name, polygons) in enumerate(structures.items(), start=1):
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = frame_uid
        roi.ROIName = name
        roi.ROIGenerationAlgorithm = "MANUAL"
        rois.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = [255, 0, 0]
        seq = []
        for polygon in polygons:
            c = Dataset()
            c.ContourGeometricType = "CLOSED_PLANAR"
            c.NumberOfContourPoints = len(polygon)
            c.ContourData = [f"{v:.6g}" for v in np.asarray(polygon, float).ravel()]
            seq.append(c)
        item.ContourSequence = Sequence(seq)
        contours.append(item)
        obs = Dataset()
        obs.ObservationNumber = number
        obs.ReferencedROINumber = number
        obs.RTROIInterpretedType = "GTV"
        observations.append(obs)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(contours)
    ds.RTROIObservationsSequence = Sequence(observations)
    _save(ds, path, RTSTRUCT_STORAGE)


def write_seg(path: Path, frame_uid: str, segments: dict[str, np.ndarray], origin, spacing,
              *, fractional: bool = False) -> None:
    """A DICOM-SEG (BINARY, or FRACTIONAL with ``fractional``) with one frame per slice of
    each segment that has voxels. ``segments``: label -> bool array (z, y, x) on the grid
    ``origin`` (x, y, z) / ``spacing`` (x, y, z), or a list of (label, array) pairs (labels
    may repeat, as in real SEGs with one segment per lesion)."""
    ds = Dataset()
    _patient(ds)
    ds.Modality = "SEG"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = frame_uid
    ds.SegmentationType = "FRACTIONAL" if fractional else "BINARY"
    if fractional:
        ds.SegmentationFractionalType = "PROBABILITY"
        ds.MaximumFractionalValue = 255
    segment_items, frames, per_frame = [], [], []
    pairs = segments.items() if isinstance(segments, dict) else segments
    for number, (label, mask) in enumerate(pairs, start=1):
        item = Dataset()
        item.SegmentNumber = number
        item.SegmentLabel = label
        item.SegmentAlgorithmType = "MANUAL"
        segment_items.append(item)
        for k in range(mask.shape[0]):
            if not mask[k].any():
                continue
            frames.append(mask[k])
            fg = Dataset()
            sid = Dataset()
            sid.ReferencedSegmentNumber = number
            fg.SegmentIdentificationSequence = Sequence([sid])
            pos = Dataset()
            pos.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
            fg.PlanePositionSequence = Sequence([pos])
            per_frame.append(fg)
    ds.SegmentSequence = Sequence(segment_items)
    shared = Dataset()
    orient = Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures = Dataset()
    measures.PixelSpacing = [spacing[1], spacing[0]]
    measures.SliceThickness = spacing[2]
    shared.PlaneOrientationSequence = Sequence([orient])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    stack = np.stack(frames)
    ds.NumberOfFrames = len(frames)
    ds.Rows, ds.Columns = stack.shape[1:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    if fractional:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = (stack.astype(np.uint8) * 255).tobytes()
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
        ds.PixelData = pydicom.pixels.pack_bits(stack.astype(np.uint8))
    _save(ds, path, SEG_STORAGE)
