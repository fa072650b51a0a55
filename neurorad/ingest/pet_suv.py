"""PET standardised uptake values (SUV) from DICOM headers, and tumour-to-background ratios.

SUV normalises activity concentration by injected activity per body size:

    SUV = C [Bq/ml] * N / D(t_ref)

where ``N`` is body weight in g (``bw``), lean body mass in g (``lbm``, ``lbm-james``) or
body surface area in cm^2 (``bsa``), and ``D(t_ref) = D_inj * 2^(-(t_ref - t_inj) / T_half)``
is the injected dose decayed to the time the pixel values refer to (QIBA FDG-PET/CT profile,
SUV computation; DICOM PS3.3 C.8.9.1 / C.8.9.2):

* ``DecayCorrection = START``: pixel values are decay-corrected to the series start, so
  ``t_ref`` = ``SeriesDate``/``SeriesTime`` (the earliest ``AcquisitionTime`` when the
  series time is later than an acquisition, as after re-processing on some scanners);
* ``ADMIN``: pixel values are already decay-corrected to the administration time
  (``t_ref = t_inj``, no decay factor);
* ``NONE``: no decay correction; each slice is corrected with its own acquisition time.

The injection time comes from ``RadiopharmaceuticalStartDateTime`` (date and time) or, when
absent, ``RadiopharmaceuticalStartTime`` on the scan date; an injection time later in the
day than the scan means the injection was the day before (midnight crossing).

Lean body mass: ``lbm`` is Janmahasatian et al. (Clin Pharmacokinet 2005;44:1051), the
formula recommended by PERCIST (Wahl et al., J Nucl Med 2009;50:122S) because James' formula
becomes negative for obese patients; ``lbm-james`` is James (1976), as in older software.
Body surface area: Du Bois & Du Bois (1916).

Privacy: headers are read only for the numbers SUV needs; no name, identifier, date or time
from them is returned, logged or put into an error message (messages name the tag and say
what is wrong; subjects are named by the caller's pseudonymous id).
"""
from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from neurorad.errors import DicomInputError
from neurorad.io.dicom_series import spacing_problem
from neurorad.io.images import dicom_series_files, display_path

SUV_KINDS = ("bw", "lbm", "lbm-james", "bsa")
DECAY_CORRECTIONS = ("START", "ADMIN", "NONE")
# Plausibility limits: outside them a header value is almost surely in the wrong unit.
WEIGHT_RANGE_KG = (1.0, 500.0)
HEIGHT_RANGE_M = (0.3, 2.6)
MIN_DOSE_BQ = 1.0e5          # 0.1 MBq: a dose written in MBq instead of Bq falls below
MAX_DECAY_HALF_LIVES = 10.0  # a longer delay means wrong dates, not a real scan
SECONDS_PER_DAY = 86400.0
# Slices of one series must agree to this relative precision (header values are decimals).
_RELATIVE_AGREEMENT = 1e-6


class SuvError(DicomInputError):
    """SUV cannot be computed; the message names the folder, subject and DICOM tag."""


@dataclass(frozen=True)
class SuvParameters:
    """The header values SUV uses (no identifiers, no dates).

    Attributes
    ----------
    units : str
        ``Units`` (0054,1001): ``BQML`` (or ``GML`` for an image already in SUVbw).
    decay_correction : str
        ``DecayCorrection`` (0054,1102): START, ADMIN or NONE.
    weight_kg, height_m : float
        ``PatientWeight`` (0010,1030), ``PatientSize`` (0010,1020; NaN when absent).
    sex : str
        ``PatientSex`` (0010,0040), "M", "F" or "" when absent/other.
    injected_dose_bq : float
        ``RadionuclideTotalDose`` (0018,1074) at injection.
    half_life_s : float
        ``RadionuclideHalfLife`` (0018,1075).
    elapsed_s : numpy.ndarray
        Per slice (in volume order), seconds from injection to the time the pixel values
        refer to (0 for ADMIN; the same for every slice with START).
    """

    units: str
    decay_correction: str
    weight_kg: float
    height_m: float
    sex: str
    injected_dose_bq: float
    half_life_s: float
    elapsed_s: np.ndarray

    @property
    def decay_factors(self) -> np.ndarray:
        """``2^(-elapsed / T_half)`` per slice."""
        return np.power(2.0, -self.elapsed_s / self.half_life_s)


# ----------------------------------------------------------------------------- body size
def lean_body_mass_kg(weight_kg: float, height_m: float, sex: str,
                      formula: str = "janmahasatian") -> float:
    """Lean body mass in kg.

    Janmahasatian (2005), with BMI = W / H^2 (kg/m^2)::

        male:   9270 W / (6680 + 216 BMI)
        female: 9270 W / (8780 + 244 BMI)

    James (1976), H in cm::

        male:   1.10 W - 128 (W / H)^2
        female: 1.07 W - 148 (W / H)^2

    Raises ValueError for a sex other than "M"/"F" (the formulas are sex-specific) and for
    a James LBM that is not positive (obesity, where the formula breaks down).
    """
    sex = (sex or "").upper()
    if sex not in ("M", "F"):
        raise ValueError("lean body mass needs PatientSex M or F")
    if formula == "janmahasatian":
        bmi = weight_kg / height_m ** 2
        return 9270.0 * weight_kg / ((6680.0 + 216.0 * bmi) if sex == "M" else
                                     (8780.0 + 244.0 * bmi))
    if formula == "james":
        ratio = weight_kg / (height_m * 100.0)
        lbm = 1.10 * weight_kg - 128.0 * ratio ** 2 if sex == "M" else \
            1.07 * weight_kg - 148.0 * ratio ** 2
        if lbm <= 0:
            raise ValueError(f"James' lean body mass is {lbm:.1f} kg (not positive) for this "
                             "weight and height; use the Janmahasatian formula (kind='lbm')")
        return lbm
    raise ValueError(f"unknown lean body mass formula {formula!r} (janmahasatian or james)")


def body_surface_area_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area (Du Bois & Du Bois 1916): ``0.007184 W^0.425 H_cm^0.725`` in m^2."""
    return 0.007184 * weight_kg ** 0.425 * (height_m * 100.0) ** 0.725


def body_size_normaliser(params: SuvParameters, kind: str) -> float:
    """``N`` of the SUV formula: g of body weight or lean body mass, or cm^2 of surface."""
    if kind == "bw":
        return params.weight_kg * 1000.0
    if kind in ("lbm", "lbm-james"):
        formula = "james" if kind == "lbm-james" else "janmahasatian"
        return lean_body_mass_kg(params.weight_kg, params.height_m, params.sex, formula) * 1000.0
    if kind == "bsa":
        return body_surface_area_m2(params.weight_kg, params.height_m) * 1.0e4
    raise ValueError(f"unknown SUV kind {kind!r} (expected one of {', '.join(SUV_KINDS)})")


# ----------------------------------------------------------------------------- DICOM times
def parse_dicom_time(text: str) -> float:
    """Seconds since midnight of a DICOM TM value (``HHMMSS.FFFFFF``, parts optional;
    the pre-2004 ``HH:MM:SS`` form accepted). Raises ValueError when malformed."""
    text = str(text).strip().replace(":", "")
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        raise ValueError("malformed time")
    hours, minutes, seconds = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    if hours > 23 or minutes > 59 or seconds > 60:
        raise ValueError("time out of range")
    return hours * 3600.0 + minutes * 60.0 + seconds + (float("0." + fraction) if fraction else 0.0)


def parse_dicom_date(text: str) -> dt.date:
    """A DICOM DA value (``YYYYMMDD``; the old ``YYYY.MM.DD`` accepted)."""
    text = str(text).strip().replace(".", "")
    if len(text) != 8 or not text.isdigit():
        raise ValueError("malformed date")
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def parse_dicom_datetime(text: str) -> tuple[dt.date, float]:
    """(date, seconds since midnight) of a DICOM DT value; a UTC offset suffix is ignored
    (both times of a scan are in the scanner's time zone)."""
    text = str(text).strip()
    for sign in "+-":
        if sign in text[8:]:
            text = text[:8] + text[8:].split(sign)[0]
    date = parse_dicom_date(text[:8])
    return date, parse_dicom_time(text[8:] or "00")


# ----------------------------------------------------------------------------- header reading
class _Headers:
    """Tag access over the slices of one series, with errors that name the tag."""

    def __init__(self, datasets: list, where: str) -> None:
        self.datasets = datasets
        self.where = where

    def fail(self, message: str) -> SuvError:
        return SuvError(f"{self.where}: {message}")

    def values(self, keyword: str, *, sequence: str | None = None) -> list:
        out = []
        for ds in self.datasets:
            item = ds
            if sequence is not None:
                seq = ds.get(sequence)
                item = seq[0] if seq else None
            value = None if item is None else item.get(keyword)
            out.append(None if value is None or value == "" else value)
        return out

    def name(self, keyword: str, sequence: str | None) -> str:
        return f"{sequence} > {keyword}" if sequence else keyword

    def common(self, keyword: str, *, sequence: str | None = None, required: bool = True,
               numeric: bool = False):
        """The value every slice shares; None when absent everywhere and not required."""
        values = self.values(keyword, sequence=sequence)
        tag = self.name(keyword, sequence)
        present = [v for v in values if v is not None]
        if not present:
            if required:
                raise self.fail(f"DICOM tag {tag} is missing")
            return None
        if len(present) < len(values):
            raise self.fail(f"DICOM tag {tag} is missing in {len(values) - len(present)} of "
                            f"{len(values)} slices")
        if numeric:
            try:
                numbers = [float(v) for v in present]
            except (TypeError, ValueError):
                raise self.fail(f"DICOM tag {tag} is not a number") from None
            if not all(math.isfinite(n) for n in numbers):
                raise self.fail(f"DICOM tag {tag} is not finite")
            ref = numbers[0]
            if any(abs(n - ref) > _RELATIVE_AGREEMENT * max(abs(ref), 1e-12) for n in numbers):
                raise self.fail(f"DICOM tag {tag} is inconsistent: it differs between slices")
            return ref
        texts = [str(v).strip().upper() for v in present]
        if len(set(texts)) > 1:
            raise self.fail(f"DICOM tag {tag} is inconsistent: it differs between slices")
        return texts[0]


_DRUG = "RadiopharmaceuticalInformationSequence"


def _injection_time(h: _Headers) -> tuple[dt.date | None, float]:
    """(date or None, seconds of day) of the injection."""
    start_dt = h.common("RadiopharmaceuticalStartDateTime", sequence=_DRUG, required=False)
    start_tm = h.common("RadiopharmaceuticalStartTime", sequence=_DRUG, required=False)
    if start_dt is None and start_tm is None:
        raise h.fail(f"DICOM tags {_DRUG} > RadiopharmaceuticalStartDateTime and "
                     "RadiopharmaceuticalStartTime are both missing (injection time unknown)")
    seconds_tm = None
    if start_tm is not None:
        try:
            seconds_tm = parse_dicom_time(start_tm)
        except ValueError as exc:
            raise h.fail(f"DICOM tag {_DRUG} > RadiopharmaceuticalStartTime: {exc}") from None
    if start_dt is None:
        return None, seconds_tm
    try:
        date, seconds = parse_dicom_datetime(start_dt)
    except ValueError as exc:
        raise h.fail(f"DICOM tag {_DRUG} > RadiopharmaceuticalStartDateTime: {exc}") from None
    if seconds_tm is not None and abs(seconds_tm - seconds) > 1.0:
        raise h.fail(f"DICOM tags {_DRUG} > RadiopharmaceuticalStartDateTime and "
                     "RadiopharmaceuticalStartTime are inconsistent (different times of day)")
    return date, seconds


def _slice_time(ds, kind: str) -> tuple[dt.date | None, float] | None:
    """(date or None, seconds) from ``<kind>DateTime`` or ``<kind>Date``/``<kind>Time``."""
    combined = ds.get(f"{kind}DateTime")
    if combined:
        return parse_dicom_datetime(combined)
    time = ds.get(f"{kind}Time")
    if not time:
        return None
    date = ds.get(f"{kind}Date")
    return (parse_dicom_date(date) if date else None), parse_dicom_time(time)


def _elapsed(start: tuple, end: tuple) -> float:
    """Seconds from ``start`` to ``end`` (each (date or None, seconds of day)). Without both
    dates an end earlier in the day than the start is taken to be on the next day."""
    (d0, s0), (d1, s1) = start, end
    if d0 is not None and d1 is not None:
        return (d1 - d0).days * SECONDS_PER_DAY + s1 - s0
    return (s1 - s0) % SECONDS_PER_DAY


def _reference_elapsed(h: _Headers, injection: tuple, decay: str) -> np.ndarray:
    """Seconds from injection to the time the pixel values refer to, per slice."""
    n = len(h.datasets)
    if decay == "ADMIN":
        return np.zeros(n)
    try:
        acquisitions = [_slice_time(ds, "Acquisition") for ds in h.datasets]
    except ValueError as exc:
        raise h.fail(f"DICOM tag AcquisitionDate/AcquisitionTime: {exc}") from None
    if decay == "NONE":
        if any(a is None for a in acquisitions):
            raise h.fail("DICOM tag AcquisitionTime is missing (needed per slice when "
                         "DecayCorrection is NONE)")
        return np.array([_elapsed(injection, a) for a in acquisitions])
    # START: the series start; QIBA: if the series time is later than an acquisition
    # (series re-created after the scan), the earliest acquisition time is the start.
    series_time = h.common("SeriesTime", required=False)
    if series_time is None:
        present = [a for a in acquisitions if a is not None]
        if not present:
            raise h.fail("DICOM tags SeriesTime and AcquisitionTime are missing (scan start "
                         "unknown)")
        return np.full(n, min(_elapsed(injection, a) for a in present))
    series_date = h.common("SeriesDate", required=False)
    try:
        series = (parse_dicom_date(series_date) if series_date else None,
                  parse_dicom_time(series_time))
    except ValueError as exc:
        raise h.fail(f"DICOM tag SeriesDate/SeriesTime: {exc}") from None
    elapsed = _elapsed(injection, series)
    earlier = [e for e in (_elapsed(injection, a) for a in acquisitions if a is not None)
               if 0 <= e < elapsed - 1.0]
    if earlier:
        elapsed = min(earlier)
    return np.full(n, elapsed)


def parse_injection(time: str | None = None, date: str | None = None
                    ) -> tuple[dt.date | None, float | None] | None:
    """An injection time/date given by the user (``--injection-time`` / ``--injection-date``):
    ``HH:MM[:SS]`` or DICOM ``HHMMSS``; ``YYYY-MM-DD`` or ``YYYYMMDD``. Returns
    ``(date or None, seconds of day or None)``, or None when neither is given."""
    if time is None and date is None:
        return None
    seconds = None
    if time is not None:
        try:
            seconds = parse_dicom_time(str(time))
        except ValueError as exc:
            raise ValueError(f"injection_time= {time!r}: {exc} (expected HH:MM or HH:MM:SS)") \
                from None
    day = None
    if date is not None:
        try:
            day = parse_dicom_date(str(date).replace("-", ""))
        except ValueError as exc:
            raise ValueError(f"injection_date= {date!r}: {exc} (expected YYYY-MM-DD)") from None
    return day, seconds


def suv_parameters(datasets: list, *, where: str = "PET series", weight_kg: float | None = None,
                   height_m: float | None = None, sex: str | None = None,
                   injection: tuple | None = None) -> SuvParameters:
    """Read and check the header values SUV needs from the slices of one PET series.

    Parameters
    ----------
    datasets : list of pydicom.Dataset
        The slices, in volume order.
    where : str
        Names the series in error messages (folder relative to the data root, subject id).
    weight_kg, height_m, sex : optional
        Replace ``PatientWeight``, ``PatientSize``, ``PatientSex`` (e.g. from the clinical
        record when the header lacks them).
    injection : (date or None, seconds or None), optional
        Replace the header's injection date and/or time of day (:func:`parse_injection`),
        e.g. for de-identified series whose dates were shifted inconsistently.

    Raises
    ------
    SuvError
        A required tag is missing, malformed, implausible or differs between slices; the
        message names the tag.
    """
    h = _Headers(datasets, where)
    modality = h.common("Modality", required=False)
    if modality not in (None, "PT"):
        raise h.fail(f"DICOM tag Modality is {modality!r}, not PT: not a PET series")
    units = h.common("Units")
    if units not in ("BQML", "GML"):
        raise h.fail(f"DICOM tag Units is {units!r}; SUV needs BQML (Bq/ml) images "
                     "(or GML, already SUVbw)")
    decay = h.common("DecayCorrection")
    if decay not in DECAY_CORRECTIONS:
        raise h.fail(f"DICOM tag DecayCorrection is {decay!r}; expected START, ADMIN or NONE")
    corrected = h.values("CorrectedImage")
    if all(c is not None for c in corrected):
        has_decy = ["DECY" in [str(v).strip().upper() for v in
                               ([c] if isinstance(c, str) else list(c))] for c in corrected]
        if (any(has_decy) and decay == "NONE") or (not all(has_decy) and decay != "NONE"):
            raise h.fail(f"DICOM tags CorrectedImage and DecayCorrection are inconsistent "
                         f"(DecayCorrection {decay} but DECY "
                         f"{'listed' if any(has_decy) else 'not listed'} in CorrectedImage)")
    weight = weight_kg if weight_kg is not None else h.common("PatientWeight", numeric=True,
                                                              required=False)
    if weight is None:
        raise h.fail("DICOM tag PatientWeight is missing (give the weight with weight_kg=)")
    if not WEIGHT_RANGE_KG[0] <= weight <= WEIGHT_RANGE_KG[1]:
        what = "weight_kg" if weight_kg is not None else "DICOM tag PatientWeight"
        raise h.fail(f"{what} is {weight:g} kg, outside {WEIGHT_RANGE_KG[0]:g}-"
                     f"{WEIGHT_RANGE_KG[1]:g} kg (unit or entry error? give the weight with "
                     "weight_kg=)")
    height = height_m if height_m is not None else h.common("PatientSize", numeric=True,
                                                            required=False)
    height = float("nan") if height is None else float(height)
    if math.isfinite(height) and not HEIGHT_RANGE_M[0] <= height <= HEIGHT_RANGE_M[1]:
        what = "height_m" if height_m is not None else "DICOM tag PatientSize"
        raise h.fail(f"{what} is {height:g} m, outside {HEIGHT_RANGE_M[0]:g}-"
                     f"{HEIGHT_RANGE_M[1]:g} m (height in cm instead of m? give the height "
                     "in m with height_m=)")
    sex_value = sex if sex is not None else (h.common("PatientSex", required=False) or "")
    dose = h.common("RadionuclideTotalDose", sequence=_DRUG, numeric=True)
    if dose < MIN_DOSE_BQ:
        raise h.fail(f"DICOM tag {_DRUG} > RadionuclideTotalDose is {dose:g}, below "
                     f"{MIN_DOSE_BQ:g} Bq (written in MBq instead of Bq?)")
    half_life = h.common("RadionuclideHalfLife", sequence=_DRUG, numeric=True)
    if half_life <= 0:
        raise h.fail(f"DICOM tag {_DRUG} > RadionuclideHalfLife is not positive")
    if decay == "ADMIN":
        elapsed = np.zeros(len(datasets))
    else:
        given = injection or (None, None)
        header = None
        if given[0] is None or given[1] is None:
            try:
                header = _injection_time(h)
            except SuvError:
                if given[1] is None:
                    raise
        day = given[0] if given[0] is not None else (header[0] if header else None)
        seconds = given[1] if given[1] is not None else header[1]
        elapsed = _reference_elapsed(h, (day, seconds), decay)
    source = ("the injection time/date given (injection_time=, injection_date=)"
              if injection is not None else
              f"DICOM tags {_DRUG} > RadiopharmaceuticalStartDateTime/Time")
    hint = ("; give the injection with injection_time= and injection_date= (e.g. for a "
            "de-identified series with shifted dates)")
    if np.any(elapsed < 0):
        verb = "is" if injection is not None else "are"
        raise h.fail(f"{source} {verb} inconsistent with SeriesDate/SeriesTime/"
                     f"AcquisitionTime: the injection is after the scan start{hint}")
    if np.any(elapsed > MAX_DECAY_HALF_LIVES * half_life):
        raise h.fail(f"{source} and SeriesDate/SeriesTime put the scan "
                     f"{elapsed.max() / 3600:.1f} h after the injection, more than "
                     f"{MAX_DECAY_HALF_LIVES:g} half-lives (wrong date?){hint}")
    return SuvParameters(units, decay, float(weight), height, str(sex_value).upper(), dose,
                         half_life, elapsed)


# ----------------------------------------------------------------------------- the image
def _read_slices(dicom_dir: Path, shown: str, subject: str | None) -> list:
    import pydicom

    files = dicom_series_files(dicom_dir, subject=subject, role="PET")
    datasets = []
    for name in files:
        try:
            datasets.append(pydicom.dcmread(name))
        except Exception:  # never echo pydicom's text: it may quote header content
            raise SuvError(f"{shown}: {Path(name).name} cannot be parsed as DICOM") from None
    return datasets


# ImageType values (0008,0008) of images that are not slices of a reconstructed volume.
NON_TOMOGRAPHIC_IMAGE_TYPES = ("MIP", "SECONDARY", "PROJECTION", "PROJECTION IMAGE",
                               "SCREEN SAVE", "LOCALIZER", "MPR", "REPROJECTION")
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"   # SC Image Storage classes


def _image_type(ds) -> list[str]:
    value = ds.get("ImageType")
    if value is None:
        return []
    return [str(v).strip().upper() for v in ([value] if isinstance(value, str) else value)]


def check_tomographic(datasets: list, where: str) -> None:
    """Refuse, in one line, a series that is not slices of a tomographic PET volume:
    maximum-intensity projections, secondary captures, screen saves, or images without
    plane geometry (``ImagePositionPatient`` / ``ImageOrientationPatient``)."""
    for ds in datasets:
        kinds = _image_type(ds)
        odd = [k for k in kinds if k in NON_TOMOGRAPHIC_IMAGE_TYPES]
        if odd:
            shown = "\\".join(kinds)     # DICOM writes multiple values with backslashes
            raise SuvError(f"{where}: not a tomographic PET series: ImageType {shown}")
        if str(ds.get("SOPClassUID", "")).startswith(SECONDARY_CAPTURE_PREFIX):
            raise SuvError(f"{where}: not a tomographic PET series: a secondary capture "
                           "(SOPClassUID Secondary Capture Image Storage)")
        missing = [tag for tag in ("ImagePositionPatient", "ImageOrientationPatient")
                   if ds.get(tag) is None]
        if missing:
            raise SuvError(f"{where}: not a tomographic PET series: DICOM tag {missing[0]} is "
                           "missing (a projection or derived image?)")


def _sorted_geometry(datasets: list, where: str, allow_uneven_slices: bool = False):
    """Slices sorted along the slice normal, and (origin, spacing, direction) in ITK order."""
    try:
        orientation = np.array(datasets[0].ImageOrientationPatient, float)
        positions = np.array([ds.ImagePositionPatient for ds in datasets], float)
        pixel_spacing = [float(v) for v in datasets[0].PixelSpacing]
    except (AttributeError, TypeError, ValueError):
        raise SuvError(f"{where}: DICOM tag ImageOrientationPatient, ImagePositionPatient or "
                       "PixelSpacing is missing or malformed") from None
    for ds in datasets[1:]:
        if not np.allclose(np.array(ds.ImageOrientationPatient, float), orientation, atol=1e-4):
            raise SuvError(f"{where}: DICOM tag ImageOrientationPatient is inconsistent: it "
                           "differs between slices")
    row, col = orientation[:3], orientation[3:]
    normal = np.cross(row, col)
    order = np.argsort(positions @ normal, kind="stable")
    datasets = [datasets[i] for i in order]
    along = (positions @ normal)[order]
    gaps = np.diff(along)
    problem = spacing_problem(along)
    if problem:
        if not allow_uneven_slices:
            raise SuvError(f"{where}: DICOM tag ImagePositionPatient: {problem} (re-export the "
                           "complete series, or read it anyway with --allow-uneven-slices)")
        warnings.warn(f"{where}: {problem}; read anyway (allow_uneven_slices): the slice "
                      "spacing is the mean gap", RuntimeWarning, stacklevel=3)
    thickness = datasets[0].get("SliceThickness")
    try:
        z_spacing = float(gaps.mean()) if len(gaps) else float(thickness or 1.0)
    except (TypeError, ValueError):
        z_spacing = 1.0     # one slice: the spacing along the normal is not used
    # ITK direction: column j is the patient-space direction of index axis j (x, y, z).
    direction = np.column_stack([row, col, normal]).ravel()
    # PixelSpacing is (row spacing = between rows (y), column spacing = along a row (x)).
    spacing = (pixel_spacing[1], pixel_spacing[0], z_spacing)
    return datasets, tuple(positions[order][0]), spacing, tuple(direction)


def _activity(ds, where: str) -> np.ndarray:
    """Stored pixel values times RescaleSlope plus RescaleIntercept (per slice: PET series
    usually give every slice its own slope)."""
    if int(ds.get("NumberOfFrames", 1) or 1) != 1:
        raise SuvError(f"{where}: multi-frame (enhanced) PET is not supported; export the series "
                       "as one file per slice")
    slope = float(ds.get("RescaleSlope", 1.0))
    intercept = float(ds.get("RescaleIntercept", 0.0))
    return ds.pixel_array.astype(np.float64) * slope + intercept


def suv_image(dicom_dir: str | os.PathLike, kind: str = "bw", *, subject: str | None = None,
              data_root: str | os.PathLike | None = None, weight_kg: float | None = None,
              height_m: float | None = None, sex: str | None = None,
              allow_uneven_slices: bool = False, injection_time: str | None = None,
              injection_date: str | None = None) -> sitk.Image:
    """SUV image of a DICOM PET series (a folder holding one series, one file per slice).

    ``SUV = C * N / (D_inj * 2^(-(t_ref - t_inj) / T_half))``, with ``C`` the pixel value
    in Bq/ml (stored value x ``RescaleSlope`` + ``RescaleIntercept``, per slice), ``N`` the
    body weight [g] (``bw``), lean body mass [g] (``lbm`` Janmahasatian, ``lbm-james``) or
    body surface area [cm^2] (``bsa``, Du Bois), and ``t_ref`` as described in the module
    docstring (series start for ``DecayCorrection = START``).

    Parameters
    ----------
    dicom_dir : path-like
        Folder with the PET series (the largest series when there are several).
    kind : {"bw", "lbm", "lbm-james", "bsa"}
    subject : str, optional
        Pseudonymous subject id for error messages.
    data_root : path-like, optional
        Error messages show the folder relative to it.
    weight_kg, height_m, sex : optional
        Override ``PatientWeight``, ``PatientSize`` (m) and ``PatientSex``.
    allow_uneven_slices : bool
        Read a series whose slice positions are unevenly spaced (a missing or duplicate
        slice) with a warning; by default that is an error naming the positions and the gap.
    injection_time, injection_date : str, optional
        Override the header's injection time of day (``HH:MM[:SS]``) and date
        (``YYYY-MM-DD``), e.g. for a de-identified series whose dates were shifted so that
        the injection seems to follow the scan (:func:`parse_injection`).

    Returns
    -------
    SimpleITK.Image
        ``float64`` SUV (g/ml for bw/lbm, cm^2/ml for bsa) with the series geometry.

    Raises
    ------
    SuvError
        A missing, malformed or inconsistent tag (named in the message).

    References
    ----------
    QIBA FDG-PET/CT Profile, "Vendor-neutral pseudo-code for SUV calculation";
    DICOM PS3.3 C.8.9 (PET Series, PET Isotope modules).
    """
    if kind not in SUV_KINDS:
        raise ValueError(f"unknown SUV kind {kind!r} (expected one of {', '.join(SUV_KINDS)})")
    dicom_dir = Path(dicom_dir)
    shown = display_path(dicom_dir, data_root)
    where = f"{'subject ' + subject + ': ' if subject else ''}PET series {shown}"
    datasets = _read_slices(dicom_dir, shown, subject)
    check_tomographic(datasets, where)
    datasets, origin, spacing, direction = _sorted_geometry(datasets, where, allow_uneven_slices)
    try:
        injection = parse_injection(injection_time, injection_date)
    except ValueError as exc:
        raise SuvError(f"{where}: {exc}") from None
    params = suv_parameters(datasets, where=where, weight_kg=weight_kg, height_m=height_m,
                            sex=sex, injection=injection)
    if params.units == "GML":
        if kind != "bw":
            raise SuvError(f"{where}: DICOM tag Units is GML (already SUVbw); SUV {kind} needs "
                           "BQML images")
        factors = np.ones(len(datasets))
    else:
        if kind != "bw" and not math.isfinite(params.height_m):
            raise SuvError(f"{where}: DICOM tag PatientSize is missing (SUV {kind} needs the "
                           "height; give it in m with height_m=)")
        try:
            normaliser = body_size_normaliser(params, kind)
        except ValueError as exc:
            hint = " (give it with sex=)" if "PatientSex" in str(exc) else ""
            raise SuvError(f"{where}: {exc}{hint}") from None
        factors = normaliser / (params.injected_dose_bq * params.decay_factors)
    volume = np.stack([_activity(ds, where) * f for ds, f in zip(datasets, factors)])
    image = sitk.GetImageFromArray(volume)
    image.SetOrigin(origin)
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    return image


# ----------------------------------------------------------------------------- uptake ratios
def uptake_index(suv, tumour_mask, reference_mask, *, threshold: float | None = None) -> dict:
    """Tumour-to-background ratios of an SUV image.

    ``TBRmax = max(SUV in tumour) / mean(SUV in reference)``;
    ``TBRmean = mean(SUV in tumour voxels) / mean(SUV in reference)``, where with
    ``threshold`` only tumour voxels with ``SUV >= threshold x reference mean`` count (the
    amino-acid PET convention: 1.6 for FET, 1.3 for MET; Law et al., Eur J Nucl Med Mol
    Imaging 2019;46:540, joint EANM/EANO/RANO guideline). When no voxel passes the
    threshold, TBRmean is NaN.

    Parameters
    ----------
    suv : array (z, y, x) or SimpleITK.Image
    tumour_mask, reference_mask : bool arrays of the same shape (or label images)
    threshold : float, optional

    Returns
    -------
    dict
        ``tbr_max``, ``tbr_mean``, ``suv_max``, ``suv_mean`` (tumour, over the voxels
        used for TBRmean), ``reference_mean``, ``n_tumour_voxels`` (used for TBRmean).
    """
    # Works on NumPy and CuPy arrays alike (only indexing and reductions).
    suv, tumour, reference = (_as_array(a) for a in (suv, tumour_mask, reference_mask))
    tumour, reference = tumour.astype(bool), reference.astype(bool)
    if tumour.shape != suv.shape or reference.shape != suv.shape:
        raise ValueError(f"masks {tumour.shape} / {reference.shape} do not match the SUV image "
                         f"{suv.shape}")
    if not bool(tumour.any()):
        raise ValueError("the tumour mask is empty")
    if not bool(reference.any()):
        raise ValueError("the reference mask is empty")
    if bool((tumour & reference).any()):
        raise ValueError("the tumour and reference masks overlap")
    ref_mean = float(suv[reference].mean())
    if not ref_mean > 0:
        raise ValueError(f"the reference mean SUV is {ref_mean:g}; ratios need a positive one")
    values = suv[tumour]
    suv_max = float(values.max())
    used = values if threshold is None else values[values >= threshold * ref_mean]
    suv_mean = float(used.mean()) if used.size else float("nan")
    return {"tbr_max": suv_max / ref_mean, "tbr_mean": suv_mean / ref_mean, "suv_max": suv_max,
            "suv_mean": suv_mean, "reference_mean": ref_mean, "n_tumour_voxels": int(used.size)}


def _as_array(a):
    if isinstance(a, sitk.Image):
        return sitk.GetArrayFromImage(a)
    return a if hasattr(a, "__array_namespace__") or hasattr(a, "shape") else np.asarray(a)


def left_right_axis(image: sitk.Image) -> int:
    """The array axis (of the (z, y, x) array) most aligned with the patient's left-right
    direction (DICOM/ITK patient x)."""
    direction = np.array(image.GetDirection(), float).reshape(image.GetDimension(), -1)
    itk_axis = int(np.argmax(np.abs(direction[0])))   # row 0: patient-x component of each axis
    return image.GetDimension() - 1 - itk_axis


def contralateral_reference(tumour_mask, brain_mask, *, axis: int = 2,
                            midline: float | None = None) -> np.ndarray:
    """Reference VOI mirrored from the tumour across the midline, restricted to the brain.

    Each tumour voxel at index ``i`` along ``axis`` maps to ``round(2 m - i)``, with ``m`` the
    midline (continuous index; default: the centre of mass of ``brain_mask`` along
    ``axis``). The mirror image is intersected with ``brain_mask`` and stripped of tumour
    voxels (a tumour crossing the midline would otherwise reference itself).

    Parameters
    ----------
    tumour_mask, brain_mask : bool arrays (z, y, x)
    axis : int
        The left-right array axis (x for axial images in LPS/RAS order; see
        :func:`left_right_axis` for an oblique or reoriented image).
    midline : float, optional

    Returns
    -------
    numpy.ndarray of bool
        Raises ValueError when the result is empty (tumour mirrored outside the brain).
    """
    tumour = np.asarray(_as_array(tumour_mask)).astype(bool)
    brain = np.asarray(_as_array(brain_mask)).astype(bool)
    if tumour.shape != brain.shape:
        raise ValueError(f"tumour mask {tumour.shape} and brain mask {brain.shape} differ in shape")
    if not brain.any():
        raise ValueError("the brain mask is empty")
    if midline is None:
        index = np.nonzero(brain)[axis]
        midline = float(index.mean())
    n = tumour.shape[axis]
    source = np.arange(n)
    mirrored_index = np.rint(2.0 * midline - source).astype(int)
    valid = (mirrored_index >= 0) & (mirrored_index < n)
    mirrored = np.zeros_like(tumour)
    target = [slice(None)] * tumour.ndim
    origin = [slice(None)] * tumour.ndim
    target[axis], origin[axis] = mirrored_index[valid], source[valid]
    mirrored[tuple(target)] = tumour[tuple(origin)]
    reference = mirrored & brain & ~tumour
    if not reference.any():
        raise ValueError("the mirrored tumour lies outside the brain mask: no reference voxel")
    return reference
