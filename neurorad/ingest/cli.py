"""The ``neurorad suv``, ``neurorad dki`` and ``neurorad rt-masks`` subcommands: scanner data
(DICOM PET, diffusion MRI, RTSTRUCT / DICOM-SEG) to NIfTI images that manifests can list.

Nothing printed here comes from a DICOM header except numbers (no names, ids or dates).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from neurorad.errors import DicomInputError, NeuroradError, as_input_error


def register(subparsers) -> None:
    """Add ``suv``, ``dki`` and ``rt-masks`` to the ``neurorad`` command's subparsers."""
    _register_suv(subparsers)
    _register_dki(subparsers)
    _register_rt_masks(subparsers)


# ----------------------------------------------------------------------------- suv
def _register_suv(subparsers) -> None:
    from neurorad.ingest.pet_suv import SUV_KINDS

    parser = subparsers.add_parser(
        "suv", help="convert a DICOM PET series to an SUV NIfTI image",
        description="Standardised uptake values from a DICOM PET series (Units BQML): activity "
        "x body size / injected dose decayed to the time the pixel values refer to "
        "(DecayCorrection START, ADMIN or NONE). Missing or inconsistent header tags stop "
        "with an error naming the tag. See docs/scanner_data.md.")
    parser.add_argument("dicom_dir", metavar="DICOM_DIR", help="folder with one PET series")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="output image (.nii.gz, .nrrd, .mha)")
    parser.add_argument("--kind", choices=SUV_KINDS, default="bw",
                        help="body weight (default), lean body mass (Janmahasatian; "
                        "lbm-james: James), or body surface area (Du Bois)")
    parser.add_argument("--subject", metavar="ID", default=None,
                        help="pseudonymous subject id for messages")
    parser.add_argument("--weight-kg", type=float, default=None,
                        help="use this weight instead of PatientWeight")
    parser.add_argument("--height-m", type=float, default=None,
                        help="use this height instead of PatientSize (m)")
    parser.add_argument("--sex", choices=["M", "F"], default=None,
                        help="use this sex instead of PatientSex (LBM formulas)")
    parser.add_argument("--injection-time", metavar="HH:MM[:SS]", default=None,
                        help="use this injection time instead of the header's "
                        "RadiopharmaceuticalStartDateTime/Time (recorded in the provenance)")
    parser.add_argument("--injection-date", metavar="YYYY-MM-DD", default=None,
                        help="use this injection date (e.g. the shifted date of a "
                        "de-identified series; recorded in the provenance)")
    _add_uneven_option(parser)
    parser.set_defaults(func=run_suv)


def _add_uneven_option(parser) -> None:
    parser.add_argument("--allow-uneven-slices", action="store_true",
                        help="read a DICOM series with unevenly spaced slices (a missing or "
                        "duplicate slice) with a warning instead of stopping; its slice "
                        "spacing is then the mean gap, so positions beyond the gap are off")


# Python keyword -> command-line flag, for messages shown by the CLI.
_SUV_FLAGS = {"weight_kg": "--weight-kg", "height_m": "--height-m", "sex": "--sex",
              "injection_time": "--injection-time", "injection_date": "--injection-date",
              "allow_uneven_slices=True": "--allow-uneven-slices"}


def _with_flags(message: str) -> str:
    """A library message with its keyword arguments (``height_m=``) named as CLI flags."""
    for keyword, flag in _SUV_FLAGS.items():
        message = message.replace(f"{keyword}=" if "=" not in keyword else keyword, flag)
    return message.replace("--allow-uneven-slices / --allow-uneven-slices",
                           "--allow-uneven-slices")


def run_suv(args: argparse.Namespace) -> int:
    import SimpleITK as sitk

    from neurorad.ingest.pet_suv import suv_image

    try:
        image = suv_image(args.dicom_dir, args.kind, subject=args.subject,
                          weight_kg=args.weight_kg, height_m=args.height_m, sex=args.sex,
                          allow_uneven_slices=args.allow_uneven_slices,
                          injection_time=args.injection_time,
                          injection_date=args.injection_date)
    except ValueError as exc:  # SuvError, ImageReadError, ...: exit code 2 (neurorad.cli)
        raise as_input_error(exc, _with_flags(str(exc))) from exc
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.Cast(image, sitk.sitkFloat32), str(output), True)
    provenance = _sidecar(output)
    overrides = {key: getattr(args, key) for key in ("weight_kg", "height_m", "sex",
                                                     "injection_time", "injection_date")
                 if getattr(args, key) is not None}
    provenance.write_text(json.dumps({
        "command": "neurorad suv", "kind": args.kind,
        "overrides": {_SUV_FLAGS[k]: v for k, v in overrides.items()},
        "allow_uneven_slices": bool(args.allow_uneven_slices)}, indent=2) + "\n")
    values = sitk.GetArrayViewFromImage(image)
    print(f"wrote {output}: SUV{args.kind} {'x'.join(map(str, image.GetSize()))} voxels, "
          f"max {float(values.max()):.3f}; provenance {provenance.name}")
    return 0


def _sidecar(output: Path) -> Path:
    """``suv.nii.gz`` -> ``suv.provenance.json`` (beside the image)."""
    from neurorad.io.images import image_stem

    return output.with_name(f"{image_stem(output)}.provenance.json")


# ----------------------------------------------------------------------------- dki
def _register_dki(subparsers) -> None:
    from neurorad.ingest.dki import DEFAULT_B_MAX

    parser = subparsers.add_parser(
        "dki", help="fit diffusion kurtosis maps (MK, FA, AWF, ...) and write them as NIfTI",
        description="Fit the diffusion kurtosis model (dipy, weighted least squares) to a "
        "multi-shell DWI series and write AK, AWF, AxEAD, FA, MD, KA, MK, RadEAD, RK, TORT as "
        "<prefix><MAP>.nii.gz. The white-matter model maps (AWF, AxEAD, RadEAD, TORT) are "
        "defined only where FA > --wm-fa-threshold (wm_model_mask.nii.gz); voxels without a "
        "value are written as --fill. See docs/scanner_data.md.")
    parser.add_argument("dwi", metavar="DWI", help="4-D NIfTI of the diffusion series")
    parser.add_argument("--bvals", metavar="FILE", default=None,
                        help="b-values (default: DWI name with .bval)")
    parser.add_argument("--bvecs", metavar="FILE", default=None,
                        help="gradient directions (default: DWI name with .bvec)")
    parser.add_argument("--mask", metavar="FILE", default=None,
                        help="brain mask on the DWI grid (default: voxels with b=0 signal > 0)")
    parser.add_argument("-o", "--output-dir", required=True, metavar="DIR")
    parser.add_argument("--prefix", default="", help="prefix of the map file names")
    parser.add_argument("--chunks", type=int, default=4,
                        help="slabs fitted as separate Dask tasks (default 4)")
    parser.add_argument("--workers", type=int, default=None,
                        help="Dask workers (default: Dask's choice)")
    parser.add_argument("--scheduler", choices=["threads", "processes", "synchronous"],
                        default="threads", help="local Dask scheduler (default threads)")
    parser.add_argument("--b-max", type=float, default=DEFAULT_B_MAX, metavar="B",
                        help="fit b = 0 and the shells up to B s/mm^2 (default 3000: the "
                        "kurtosis expansion holds to about b = 2500-3000); 0 or less: all")
    parser.add_argument("--wm-fa-threshold", type=float, default=0.4,
                        help="FA above which the white-matter model maps are computed (0.4)")
    parser.add_argument("--fill", type=float, default=0.0,
                        help="value written where a map is undefined (default 0)")
    parser.add_argument("--subject", metavar="ID", default=None,
                        help="pseudonymous subject id for messages")
    parser.set_defaults(func=run_dki)


def run_dki(args: argparse.Namespace) -> int:
    import numpy as np

    from neurorad.ingest.dki import fit_maps, select_shells, write_maps
    from neurorad.io.dwi import default_gradient_files, read_dwi

    bvals, bvecs = default_gradient_files(args.dwi)
    try:
        series = read_dwi(args.dwi, args.bvals or bvals, args.bvecs or bvecs,
                          subject=args.subject)
        mask = None
        if args.mask:
            mask = _read_mask_on(args.mask, series, args.subject)
        b_max = args.b_max if args.b_max and args.b_max > 0 else None
        shells = select_shells(series.bvals, b_max)
        maps = fit_maps(series.data, series.bvals, series.bvecs, mask, chunks=args.chunks,
                        scheduler=args.scheduler, workers=args.workers,
                        wm_fa_threshold=args.wm_fa_threshold, b_max=b_max)
    except ValueError as exc:  # DwiError, ImageReadError, ...: exit code 2 (neurorad.cli)
        raise as_input_error(exc) from exc
    written = write_maps(maps, series.affine, args.output_dir, prefix=args.prefix,
                         fill=args.fill)
    provenance = Path(args.output_dir) / f"{args.prefix}dki_provenance.json"
    provenance.write_text(json.dumps({
        "command": "neurorad dki", "fit_method": "WLS", **shells.to_dict(),
        "wm_fa_threshold": args.wm_fa_threshold, "fill": args.fill,
        "maps": sorted(written)}, indent=2) + "\n")
    print(f"DKI fit on {shells.describe()}")
    fitted = int(np.isfinite(maps["MD"]).sum())
    white = int(np.isfinite(maps["AWF"]).sum())
    print(f"wrote {len(written)} maps to {args.output_dir}: {fitted} voxels fitted, {white} "
          f"white-matter model voxels (FA > {args.wm_fa_threshold:g})")
    return 0


def _read_mask_on(path, series, subject):
    """A mask NIfTI as a bool (x, y, z) array on the DWI grid."""
    import nibabel as nib
    import numpy as np

    from neurorad.io.dwi import DwiError

    image = nib.load(str(path))
    mask = np.asarray(image.dataobj) > 0
    if mask.shape != series.data.shape[:3] or not np.allclose(image.affine, series.affine,
                                                              atol=1e-3):
        who = f"subject {subject}: " if subject else ""
        raise DwiError(f"{who}{path}", f"mask is not on the DWI grid (shape {mask.shape} vs "
                       f"{series.data.shape[:3]}, or a different affine)", path=Path(path))
    return mask


# ----------------------------------------------------------------------------- rt-masks
def _register_rt_masks(subparsers) -> None:
    from neurorad.io.dicom_rt import REPEATED_LABEL_RULES

    parser = subparsers.add_parser(
        "rt-masks", help="rasterise RTSTRUCT / DICOM-SEG structures into a NIfTI label map",
        description="Convert the structures of a DICOM RTSTRUCT (by ROI name) or the segments "
        "of a DICOM-SEG (by label, number, '<label>#<number>' or '<label>#all') to one "
        "multi-label map on the grid of a reference image, and print the rois: mapping for the "
        "manifest. Overlapping structures cannot share a label map: --separate writes one "
        "0/1 mask file per structure instead. See docs/scanner_data.md.")
    parser.add_argument("source", metavar="RT_FILE", help="RTSTRUCT or DICOM-SEG file")
    parser.add_argument("--reference", required=True, metavar="IMAGE",
                        help="image (NIfTI or DICOM folder) whose grid the masks take")
    parser.add_argument("-o", "--output", required=True, metavar="PATH",
                        help="label map to write (.nii.gz); with --separate, a folder")
    parser.add_argument("--roi", action="append", default=None, metavar="NAME",
                        help="structure / segment to include (repeatable; default all)")
    parser.add_argument("--repeated-labels", choices=REPEATED_LABEL_RULES, default="error",
                        help="DICOM-SEG: what a label several segments share selects: an "
                        "error (default), each segment as '<label>#<number>', or their union")
    parser.add_argument("--separate", action="store_true",
                        help="write each structure as its own 0/1 mask <n>_<name>.nii.gz in "
                        "the folder -o (overlapping structures allowed)")
    _add_uneven_option(parser)
    parser.set_defaults(func=run_rt_masks)


def _structure_key(key, segments: dict | None):
    """One name per structure: RTSTRUCT names as they are; a SEG segment asked for by number
    is named ``<label>#<number>`` (a key a manifest can use, and what messages say)."""
    if segments is not None and isinstance(key, int):
        return f"{segments[key]}#{key}"
    return str(key)


def _safe_file_name(index: int, name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return f"{index}_{cleaned or 'structure'}.nii.gz"


def run_rt_masks(args: argparse.Namespace) -> int:
    import pydicom
    import SimpleITK as sitk

    from neurorad.io.dicom_rt import rtstruct_to_masks, seg_segments, seg_to_masks, write_labelmap
    from neurorad.io.images import read_image

    try:
        modality = str(pydicom.dcmread(args.source, stop_before_pixels=True,
                                       specific_tags=["Modality"]).get("Modality", ""))
        reference = read_image(args.reference, role="reference",
                               allow_uneven_slices=args.allow_uneven_slices)
        rois = args.roi
        segments = None
        if modality == "SEG":
            segments = seg_segments(args.source)
            rois = [int(r) if r.isdigit() else r for r in rois] if rois else None
            masks = seg_to_masks(args.source, reference, rois, repeated=args.repeated_labels)
        else:
            masks = rtstruct_to_masks(args.source, reference, rois)
        masks = {_structure_key(key, segments): image for key, image in masks.items()}
        if args.separate:
            folder = Path(args.output)
            folder.mkdir(parents=True, exist_ok=True)
            files = {}
            for index, (name, image) in enumerate(masks.items(), start=1):
                files[name] = _safe_file_name(index, name)
                sitk.WriteImage(image, str(folder / files[name]), True)
        else:
            labels = write_labelmap(masks, args.output)
    except NeuroradError:
        raise
    except (ValueError, OSError) as exc:  # DicomRtError, ImageReadError, ...: exit code 2
        raise as_input_error(exc) from exc
    except Exception:  # pydicom parse failures: their text may quote header content
        raise DicomInputError(f"{Path(args.source).name} cannot be parsed as DICOM") from None
    # JSON strings are valid YAML: names with spaces or colons stay one key.
    if args.separate:
        print(f"wrote {len(files)} mask(s) to {args.output}")
        print("masks: {" + ", ".join(f"{json.dumps(name)}: {json.dumps(file)}"
                                     for name, file in files.items()) + "}")
        print("rois: {" + ", ".join(f"{json.dumps(name)}: {{mask: {json.dumps(name)}, label: 1}}"
                                    for name in files) + "}")
        return 0
    print(f"wrote {args.output}")
    print("rois: {" + ", ".join(f"{json.dumps(name)}: {label}" for name, label in labels.items())
          + "}")
    return 0
