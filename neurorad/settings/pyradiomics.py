"""Convert a PyRadiomics parameter file into neurorad settings, item by item.

``from_pyradiomics(PARAMS)`` reads a PyRadiomics parameter file (YAML path or dict with
``setting``, ``imageType``, ``featureClass``, ``voxelSetting``) and returns a
:class:`Conversion`: a neurorad settings document (``load_settings`` accepts it) and one
:class:`Item` per PyRadiomics entry saying how it maps:

``exact``
    neurorad computes the same thing (e.g. ``binWidth`` -> ``fbs_aligned``, PyRadiomics'
    bins at multiples of the width; ``label``; ``resegmentRange``; the pointwise image types).
``ibsi``
    mapped to the IBSI definition, which differs from PyRadiomics' implementation; the
    item says how (interpolation grid alignment, LoG, wavelets, feature definitions).
``ignored``
    has no effect on feature values in neurorad (performance or checking options:
    ``preCrop``, ``padDistance``, ``additionalInfo``, ...).
``unsupported``
    neurorad has no equivalent (``normalize``, ``LBP2D``/``LBP3D``, voxel-based maps,
    ``weightingNorm``, several distances, ...); the item says what to do instead.

``neurorad settings from-pyradiomics PARAMS.yaml`` prints the settings (YAML) with this
report as comments.

References
----------
van Griethuysen JJM, et al. Computational radiomics system to decode the radiographic
phenotype. Cancer Res 2017;77:e104-e107 (PyRadiomics documentation: "Customizing the
extraction", "Image types", "Radiomic features"). Depeursinge A, et al. Standardised
convolutional filtering for radiomics, arXiv:2006.05470 (IBSI chapter 2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neurorad.settings.schema import SettingsError

__all__ = ["Conversion", "Item", "from_pyradiomics"]

STATUSES = ("exact", "ibsi", "ignored", "unsupported")
INTERPOLATORS = {"sitkNearestNeighbor": "nearest", "sitkLinear": "linear",
                 "sitkBSpline": "cubic"}
# featureClass -> (neurorad families, status, detail)
FEATURE_CLASSES = {
    "shape": (["morphology"], "ibsi", "IBSI morphology (mesh-based volume and area from the "
              "marching-cubes mesh; PyRadiomics' shape features use the same mesh approach, "
              "tags morph_*)"),
    "firstorder": (["statistics", "histogram"], "ibsi",
                   "IBSI intensity statistics (stat_*) and, for PyRadiomics' Entropy and "
                   "Uniformity of the binned intensities, the intensity histogram (ih_*); "
                   "PyRadiomics adds voxelArrayShift to Energy, TotalEnergy and RMS, IBSI "
                   "does not"),
    "glcm": (["glcm"], "ibsi", "IBSI GLCM (cm_*); symmetric matrix as PyRadiomics' default"),
    "glrlm": (["glrlm"], "ibsi", "IBSI GLRLM (rlm_*)"),
    "glszm": (["glszm"], "ibsi", "IBSI GLSZM (szm_*)"),
    "gldm": (["ngldm"], "ibsi", "PyRadiomics' GLDM is IBSI's NGLDM (ngl_*; gldm_a = "
             "coarseness)"),
    "ngtdm": (["ngtdm"], "ibsi", "IBSI NGTDM (ngt_*)"),
}
# Pointwise image types: PyRadiomics name -> neurorad filter (same formula, neurorad.filters).
POINTWISE = {"Square": "square", "SquareRoot": "square_root", "Logarithm": "logarithm",
             "Exponential": "exponential"}
IGNORED_SETTINGS = {
    "preCrop": "cropping before filtering is a speed-up only; neurorad filters the whole image",
    "padDistance": "neurorad filters the whole interpolated image, no crop padding is needed",
    "additionalInfo": "diagnostic output only",
    "enableCExtensions": "implementation choice only",
    "minimumROIDimensions": "ROI check only (neurorad checks ROIs when loading)",
    "minimumROISize": "ROI check only (neurorad checks ROIs when loading)",
    "geometryTolerance": "neurorad requires image and mask on the same grid",
    "correctMask": "neurorad requires image and mask on the same grid",
    "label_channel": "neurorad reads label maps (one channel)",
    "sigma": "LoG sigmas are read from imageType: LoG",
}
IMAGE_TYPE_SETTINGS = ("sigma", "start_level", "level", "wavelet", "gradientUseSpacing",
                       "lbp2DRadius", "lbp2DSamples", "lbp2DMethod", "lbp3DLevels",
                       "lbp3DIcosphereRadius", "lbp3DIcosphereSubdivision")


@dataclass
class Item:
    """How one PyRadiomics entry maps: ``key`` (e.g. ``setting.binWidth``), ``status`` (one
    of ``STATUSES``) and ``detail`` (what it became, or why not)."""

    key: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<11} {self.key}: {self.detail}"


@dataclass
class Conversion:
    """Result of :func:`from_pyradiomics`: ``settings`` (a settings document) and ``items``."""

    settings: dict
    items: list[Item] = field(default_factory=list)

    def report(self) -> str:
        """One line per item, grouped by status."""
        order = {s: i for i, s in enumerate(STATUSES)}
        return "\n".join(i.line() for i in sorted(self.items, key=lambda i: order[i.status]))

    def by_status(self, status: str) -> list[Item]:
        return [i for i in self.items if i.status == status]


def _read(source) -> tuple[dict, str]:
    from neurorad.settings import _read_yaml

    if isinstance(source, dict):
        return source, "<dict>"
    path = Path(source)
    if not path.is_file():
        raise SettingsError(f"PyRadiomics parameter file not found: {path}")
    return _read_yaml(path), path.name


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Converter:
    def __init__(self, doc: dict, name: str):
        self.doc, self.name = doc, name
        unknown = sorted(set(doc) - {"setting", "imageType", "featureClass", "voxelSetting"})
        if unknown:
            raise SettingsError(f"{name}: not a PyRadiomics parameter file: unknown top-level "
                                f"key(s) {', '.join(map(repr, unknown))} (expected setting, "
                                "imageType, featureClass, voxelSetting)")
        self.setting = doc.get("setting") or {}
        self.items: list[Item] = []
        self.out: dict = {"name": f"from-pyradiomics-{Path(name).stem}",
                          "description": f"Converted from the PyRadiomics parameter file "
                                         f"{name} (neurorad settings from-pyradiomics).",
                          "roi_label": 1, "round_intensities": False, "resample": None}

    def add(self, key: str, status: str, detail: str) -> None:
        self.items.append(Item(key, status, detail))

    # -- setting -------------------------------------------------------------------------
    def settings(self) -> None:
        s = self.setting
        if not isinstance(s, dict):
            raise SettingsError(f"{self.name}: setting: expected a mapping")
        handled = set()
        if "label" in s:
            self.out["roi_label"] = int(s["label"])
            self.add("setting.label", "exact", f"roi_label {int(s['label'])}")
        handled.add("label")
        self._discretisation(s)
        handled |= {"binWidth", "binCount"}
        self._resampling(s)
        handled |= {"resampledPixelSpacing", "interpolator"}
        self._resegmentation(s)
        handled |= {"resegmentRange", "resegmentMode", "resegmentShape"}
        self._texture(s)
        handled |= {"distances", "symmetricalGLCM", "weightingNorm", "gldm_a", "force2D",
                    "force2Ddimension"}
        if s.get("normalize"):
            self.add("setting.normalize", "unsupported",
                     "whole-image z-score normalisation (x - mean) / sd x normalizeScale is not "
                     "a neurorad preprocessing step: normalise the images before extraction "
                     "(neurorad.io) or use a fixed bin number")
        elif "normalize" in s:
            self.add("setting.normalize", "exact", "false: no normalisation")
        for key in ("normalizeScale", "removeOutliers"):
            if key in s:
                self.add(f"setting.{key}", "unsupported" if s.get("normalize") else "ignored",
                         "part of PyRadiomics' normalisation (see setting.normalize)")
        handled |= {"normalize", "normalizeScale", "removeOutliers"}
        if "voxelArrayShift" in s:
            self.add("setting.voxelArrayShift", "unsupported",
                     "PyRadiomics shifts intensities by this value for Energy, TotalEnergy and "
                     "RMS only; neurorad's stat_energy, stat_rms follow IBSI (no shift)")
        handled.add("voxelArrayShift")
        for key, why in IGNORED_SETTINGS.items():
            if key in s:
                self.add(f"setting.{key}", "ignored", why)
        handled |= set(IGNORED_SETTINGS) | set(IMAGE_TYPE_SETTINGS)
        for key in sorted(set(s) - handled):
            self.add(f"setting.{key}", "unsupported", "not a setting neurorad knows")

    def _discretisation(self, s) -> None:
        if "binCount" in s and s["binCount"] is not None:
            n = int(s["binCount"])
            self.out["discretisation"] = {"method": "fbn", "n_bins": n}
            self.add("setting.binCount", "exact",
                     f"fixed bin number {n} (IBSI FBN; PyRadiomics' histogram edges from the "
                     "ROI minimum to maximum, the same bins up to floating-point rounding)")
            if "binWidth" in s:
                self.add("setting.binWidth", "ignored", "binCount takes precedence (as in "
                         "PyRadiomics)")
            return
        width = s.get("binWidth", 25)
        self.out["discretisation"] = {"method": "fbs_aligned", "bin_width": float(width)}
        self.add("setting.binWidth", "exact",
                 f"{'given' if 'binWidth' in s else 'PyRadiomics default'} bin width {width:g}: "
                 "discretisation fbs_aligned (bin edges at multiples of the width, grey level "
                 "floor(x/w) - floor(min/w) + 1, as PyRadiomics)")

    def _resampling(self, s) -> None:
        spacing = s.get("resampledPixelSpacing")
        interp = s.get("interpolator", "sitkBSpline")
        if spacing is None:
            self.add("setting.resampledPixelSpacing", "exact", "none: no interpolation")
            if "interpolator" in s:
                self.add("setting.interpolator", "ignored", "no resampling")
            return
        spacing = [float(v) for v in _as_list(spacing)]
        if len(spacing) != 3:
            self.add("setting.resampledPixelSpacing", "unsupported",
                     f"expected [x, y, z], got {spacing}")
            return
        if spacing[0] == 0 or spacing[1] == 0:
            self.add("setting.resampledPixelSpacing", "unsupported",
                     "keeping the original x or y spacing (0) is not supported; neurorad keeps "
                     "only z (in-plane interpolation)")
            return
        in_plane = spacing[2] == 0
        if interp not in INTERPOLATORS:
            self.add("setting.interpolator", "unsupported",
                     f"{interp!r}: neurorad interpolates with "
                     f"{', '.join(INTERPOLATORS)}; resampling not converted")
            return
        self.out["resample"] = {"spacing_xyz": spacing[:2] if in_plane else spacing,
                                "in_plane": in_plane, "interpolator": INTERPOLATORS[interp],
                                "mask_interpolator": "nearest", "mask_threshold": 0.5}
        self.add("setting.resampledPixelSpacing", "ibsi",
                 f"resample to {spacing[:2] if in_plane else spacing} mm"
                 f"{' in-plane (z kept, PyRadiomics 0)' if in_plane else ''} on the IBSI-1 "
                 "grid (centres aligned with the original grid's centre); PyRadiomics aligns "
                 "the new grid at the corner of the ROI's bounding box, so voxel positions "
                 "differ by up to half a voxel")
        self.add("setting.interpolator", "exact",
                 f"{interp} -> {INTERPOLATORS[interp]}; the mask with nearest neighbour as "
                 "PyRadiomics")

    def _resegmentation(self, s) -> None:
        rng = s.get("resegmentRange")
        mode = s.get("resegmentMode", "absolute")
        if rng is not None:
            values = [float(v) for v in _as_list(rng)]
            if mode == "absolute" and len(values) in (1, 2):
                low, high = values[0], values[1] if len(values) == 2 else None
                self.out["resegment"] = {"range": [low, high], "outliers_sd": None}
                self.add("setting.resegmentRange", "exact", f"resegment.range [{low:g}, "
                         f"{'null' if high is None else f'{high:g}'}]")
            elif mode == "sigma" and len(values) == 2 and values[0] == -values[1] < 0:
                self.out["resegment"] = {"range": [None, None], "outliers_sd": abs(values[1])}
                self.add("setting.resegmentRange", "exact",
                         f"mode sigma: outliers beyond mean +/- {abs(values[1]):g} sd removed "
                         "(resegment.outliers_sd)")
            else:
                self.add("setting.resegmentRange", "unsupported",
                         f"mode {mode!r} with {values}: neurorad has absolute ranges and "
                         "symmetric sigma ranges only")
        if "resegmentMode" in s and rng is None:
            self.add("setting.resegmentMode", "ignored", "no resegmentRange")
        elif "resegmentMode" in s:
            self.add("setting.resegmentMode", "exact", f"{mode} (see resegmentRange)")
        if s.get("resegmentShape"):
            self.add("setting.resegmentShape", "unsupported",
                     "neurorad computes shape on the ROI before re-segmentation (IBSI "
                     "morphological mask)")
        elif "resegmentShape" in s:
            self.add("setting.resegmentShape", "exact",
                     "false: shape on the ROI before re-segmentation")

    def _texture(self, s) -> None:
        texture = {}
        distances = _as_list(s.get("distances", [1]))
        if len(distances) == 1:
            d = int(distances[0])
            texture.update(glcm_distance=d, ngtdm_distance=d, ngldm_distance=d)
            if "distances" in s:
                self.add("setting.distances", "exact",
                         f"distance {d} (Chebyshev) for GLCM, NGTDM and NGLDM")
        else:
            self.add("setting.distances", "unsupported",
                     f"{distances}: neurorad uses one distance; only {int(distances[0])} kept")
            d = int(distances[0])
            texture.update(glcm_distance=d, ngtdm_distance=d, ngldm_distance=d)
        texture["ngldm_coarseness"] = int(s.get("gldm_a", 0))
        if "gldm_a" in s:
            self.add("setting.gldm_a", "exact", f"NGLDM coarseness {texture['ngldm_coarseness']}")
        self.out["texture"] = texture
        if s.get("symmetricalGLCM", True) is False:
            self.add("setting.symmetricalGLCM", "unsupported",
                     "neurorad's GLCM is symmetric (IBSI)")
        elif "symmetricalGLCM" in s:
            self.add("setting.symmetricalGLCM", "exact", "symmetric GLCM")
        if s.get("weightingNorm") is not None:
            self.add("setting.weightingNorm", "unsupported",
                     "distance-weighted merging of directions is not IBSI; neurorad averages "
                     "the directions' features (3D_avg)")
        elif "weightingNorm" in s:
            self.add("setting.weightingNorm", "exact", "none: features averaged over directions")
        if s.get("force2D"):
            dim = int(s.get("force2Ddimension", 0))
            if dim == 0:
                self.out["aggregations"] = ["2_5D_avg"]
                self.add("setting.force2D", "exact",
                         "in-plane (axial) matrices over all slices, one per direction, "
                         "features averaged: IBSI 2.5D direction-merged (aggregations "
                         "2_5D_avg; 2_5D for GLSZM, GLDZM, NGTDM, NGLDM)")
            else:
                self.out["aggregations"] = ["3D_avg"]
                self.add("setting.force2D", "unsupported",
                         f"force2Ddimension {dim}: only axial slices (0); 3-D used instead")
        else:
            self.out["aggregations"] = ["3D_avg"]
            self.add("setting.force2D" if "force2D" in s else "setting (3-D)", "exact",
                     "13 directions, features averaged (aggregations 3D_avg; 3D for GLSZM, "
                     "GLDZM, NGTDM, NGLDM)")
        if "force2Ddimension" in s and not s.get("force2D"):
            self.add("setting.force2Ddimension", "ignored", "force2D is false")
        elif "force2Ddimension" in s:
            dim = int(s["force2Ddimension"])
            self.add("setting.force2Ddimension", "exact" if dim == 0 else "unsupported",
                     "0: axial slices (see force2D)" if dim == 0 else
                     f"{dim}: neurorad's 2-D / 2.5-D aggregations use axial slices only")

    # -- imageType -----------------------------------------------------------------------
    def image_types(self) -> None:
        types = self.doc.get("imageType")
        if types is None:
            types = {"Original": {}}
            self.add("imageType", "exact", "not given: the original image only (PyRadiomics "
                     "default)")
        if not isinstance(types, dict):
            raise SettingsError(f"{self.name}: imageType: expected a mapping")
        s = self.setting
        dims = "2d" if s.get("force2D") and int(s.get("force2Ddimension", 0)) == 0 else "3d"
        specs: list[dict] = []
        for name, options in types.items():
            options = options or {}
            key = f"imageType.{name}"
            if name == "Original":
                if "imageType" in self.doc:
                    self.add(key, "exact", "features of the unfiltered image (keep_original)")
            elif name == "LoG":
                sigmas = _as_list(options.get("sigma", s.get("sigma")))
                if not sigmas:
                    self.add(key, "unsupported", "no sigma given (PyRadiomics skips LoG then)")
                    continue
                for sigma in sigmas:
                    specs.append({"filter": "log", "dimensions": "3d", "boundary": "mirror",
                                  "sigma_mm": float(sigma), "cutoff_sigmas": 4.0})
                self.add(key, "ibsi",
                         f"sigma {', '.join(f'{float(x):g}' for x in sigmas)} mm -> IBSI-2 LoG "
                         "(3-D as PyRadiomics' on a 3-D image, force2D or not; mirror "
                         "boundary, kernel sampled on the voxel grid and cut at 4 sigma). "
                         "PyRadiomics uses SimpleITK's recursive (IIR) Gaussian "
                         "approximation normalised across scale, i.e. sigma^2 times the LoG, "
                         "on the image padded by padDistance: values differ by about a factor "
                         "sigma^2 and in detail; tags log_s<sigma> instead of "
                         "log-sigma-<sigma>-mm-3D")
            elif name == "Wavelet":
                specs.extend(self._wavelet(key, options, dims))
            elif name in POINTWISE:
                specs.append({"filter": POINTWISE[name]})
                self.add(key, "exact", f"filter {POINTWISE[name]} (PyRadiomics' formula, "
                         "neurorad.filters)")
            elif name == "Gradient":
                if (options.get("gradientUseSpacing", s.get("gradientUseSpacing", True))
                        is False):
                    self.add(key, "unsupported", "gradientUseSpacing false (voxel units)")
                    continue
                specs.append({"filter": "gradient", "dimensions": dims, "boundary": "nearest"})
                self.add(key, "exact", f"filter gradient ({dims}, central differences in "
                         "intensity per mm, nearest boundary as SimpleITK)")
            elif name in ("LBP2D", "LBP3D"):
                self.add(key, "unsupported", "local binary patterns are not IBSI-2 filters "
                         "and are not in neurorad.filters")
            else:
                self.add(key, "unsupported", "unknown PyRadiomics image type")
        keep = "Original" in types
        if specs or not keep:
            if not specs:
                self.add("imageType", "unsupported", "no image type converted; the original "
                         "image is used")
                keep = True
            self.out["filters"] = {"keep_original": keep, "specs": specs}

    def _wavelet(self, key, options, dims) -> list[dict]:
        s = self.setting
        kernel = options.get("wavelet", s.get("wavelet", "coif1"))
        start = int(options.get("start_level", s.get("start_level", 0)))
        levels = int(options.get("level", s.get("level", 1)))
        n = 2 if dims == "2d" else 3
        specs = []
        for j in range(start + 1, start + levels + 1):
            for code in range(2 ** n):
                # PyRadiomics' letters are in array order (z, y, x); neurorad's in x, y, z.
                zyx = "".join("H" if code >> (n - 1 - i) & 1 else "L" for i in range(n))
                if zyx == "L" * n and j != start + levels:
                    continue  # PyRadiomics returns the approximation of the last level only
                specs.append({"filter": "wavelet", "dimensions": dims, "boundary": "periodic",
                              "kernel": str(kernel), "wavelet_response": zyx[::-1],
                              "decomposition_level": j, "rotation_invariant": False,
                              "pooling": "none"})
        self.add(key, "ibsi",
                 f"{kernel}, level(s) {start + 1}..{start + levels}: {len(specs)} responses -> "
                 f"IBSI-2 undecimated separable wavelets ({dims}, in-plane with force2D as "
                 "PyRadiomics; periodic boundary as PyRadiomics' wrap padding). PyRadiomics (pywt.swtn) names the responses in array order "
                 "z, y, x (its wavelet-LLH is neurorad's HLL: H along x) and aligns even-length "
                 "filters differently (IBSI-2 centres them), so maps are shifted by up to a "
                 "voxel; levels are counted from start_level")
        return specs

    # -- featureClass --------------------------------------------------------------------
    def feature_classes(self) -> None:
        classes = self.doc.get("featureClass")
        families: list[str] = []
        if classes is None:
            classes = {c: None for c in FEATURE_CLASSES}
            self.add("featureClass", "exact", "not given: every class (PyRadiomics default)")
        if not isinstance(classes, dict):
            raise SettingsError(f"{self.name}: featureClass: expected a mapping")
        for name, features in classes.items():
            key = f"featureClass.{name}"
            if name not in FEATURE_CLASSES:
                self.add(key, "unsupported", "shape2D: neurorad's morphology is 3-D (IBSI)"
                         if name == "shape2D" else "unknown PyRadiomics feature class")
                continue
            fams, status, detail = FEATURE_CLASSES[name]
            families += [f for f in fams if f not in families]
            if features:
                detail += (f"; the {len(_as_list(features))} feature(s) listed are not "
                           "selected one by one: the whole family is computed")
            self.add(key, status, f"families {', '.join(fams)}: {detail}")
        if not families:
            families = ["statistics"]
            self.add("featureClass", "unsupported", "no class converted; statistics used")
        self.out["families"] = families

    def voxel_settings(self) -> None:
        if self.doc.get("voxelSetting"):
            self.add("voxelSetting", "unsupported",
                     "voxel-based feature maps are not computed by neurorad (ROI features "
                     "only)")

    def run(self) -> Conversion:
        self.settings()
        self.image_types()
        self.feature_classes()
        self.voxel_settings()
        if self.out.get("filters") and self.out["filters"]["specs"]:
            # Response maps: PyRadiomics discretises them like the original (same bin width).
            self.add("filters (response maps)", "ibsi",
                     "re-segmentation on the unfiltered intensities and the settings' "
                     "discretisation on every response map (IBSI-2); PyRadiomics applies "
                     "resegmentRange to each filtered image itself")
        return Conversion(settings=self.out, items=self.items)


def from_pyradiomics(source) -> Conversion:
    """Convert a PyRadiomics parameter file (path or dict) into neurorad settings.

    Returns
    -------
    Conversion
        ``.settings`` is validated (``neurorad.load_settings(conversion.settings)`` works);
        ``.items`` says per entry what maps exactly, what maps to the IBSI definition (and
        how that differs), what is ignored and what is unsupported (module doc).

    Raises
    ------
    SettingsError
        Unreadable file, not a PyRadiomics parameter mapping, or settings that do not
        validate (the message names the file).
    """
    from neurorad.settings import load_settings

    doc, name = _read(source)
    conversion = _Converter(doc, name).run()
    try:
        load_settings(conversion.settings)
    except SettingsError as exc:
        raise SettingsError(f"{name}: the converted settings do not validate: {exc}") from None
    return conversion
