"""Extraction settings: one validated, frozen description of an IBSI extraction.

A settings document (YAML file, preset name or dict) has these keys; every one is optional
except where noted, unknown keys are errors naming the key::

    name: ibsi-ct-c                 # free text, shown in provenance
    description: ...
    roi_label: 1                    # label value of the ROI in a label-map mask (default 1)
    round_intensities: true         # round to the nearest integer at load and after
                                    # interpolation (IBSI CT phantom; integer-valued modalities)
    resample:                       # omit (or null) for no interpolation
      spacing_xyz: [2.0, 2.0, 2.0]  # new voxel spacing in mm, in x, y, z order (as ITK lists it)
      in_plane: false               # true: "2D" interpolation, x and y only (z kept)
      interpolator: linear          # nearest | linear | cubic (B-spline, order 3)
      mask_interpolator: linear     # nearest | linear
      mask_threshold: 0.5           # partial-volume threshold for the interpolated mask
    resegment:
      range: [-1000, 400]           # [low, high]; either may be null (open)
      outliers_sd: 3.0              # drop voxels outside mean +/- k * sd (population sd); null: off
    discretisation:                 # one entry or a list; several entries -> tag suffixes
      - {method: fbs, bin_width: 25}          # lower bound: re-segmentation low, else ROI min
      - {method: fbn, n_bins: [8, 16, 32]}    # a list expands to one entry per value
      - {method: ep, n_bins: 8}               # equal-probability (quantile) bins, as RIA's "ep"
      - {method: fbs_aligned, bin_width: 25}  # PyRadiomics: edges at multiples of the width
      - {method: none}                        # intensities already are grey levels 1..Ng
    ivh_discretisation: null        # null: the IVH follows every texture discretisation;
                                    # or one entry: {method: none} (raw intensities), fbs, fbn
    families: [morphology, ...]     # see FAMILIES; default all but fractal and ria_extras
    aggregations: [3D]              # 2D, 2_5D, 3D (all of a dimension) or exact names
                                    # 2D_avg, 2D_comb, 2_5D_avg, 2_5D_comb, 3D_avg, 3D_comb
    texture: {glcm_distance: 1, ngtdm_distance: 1, ngldm_distance: 1, ngldm_coarseness: 0}
    device: auto                    # cpu | gpu | auto
    filters:                        # IBSI-2 filtered images; omit (or null) for none
      keep_original: true           # also the features of the unfiltered image (default true)
      specs:                        # one response map each: neurorad.filters spec keys
        - {filter: log, dimensions: 3d, boundary: mirror, sigma_mm: 2.0, cutoff_sigmas: 4.0}
      families: [statistics, ...]   # families on response maps; default: those above less
                                    # morphology and fractal (they do not see intensities)
      discretisation: ...           # for response maps; default: the one above

Filtered images follow IBSI-2's chain: the filter acts on the whole image after
interpolation (and rounding); re-segmentation is done on the unfiltered intensities and the
resulting intensity mask is used on every response map; response maps are not rounded, and
quantities that used the re-segmentation range (the FBS lower bound, the IVH range) fall back
to the response map's ROI minimum / maximum. A bare list under ``filters:`` means ``specs``
with the original kept.

References
----------
Zwanenburg A, Vallieres M, et al. The Image Biomarker Standardization Initiative.
Radiology 2020;295:328-338 (IBSI reference manual, chapter 2 "Image processing").
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

from neurorad.backend import DEVICES
from neurorad.errors import SettingsInputError
from neurorad.features import FAMILIES as FEATURE_FAMILIES
from neurorad.features import families_where
from neurorad.yamlsafe import short_repr

# Family names come from the feature-family registry, nowhere else.
FAMILIES = tuple(FEATURE_FAMILIES)
DEFAULT_FAMILIES = families_where(default=True)
INTERPOLATORS = {"nearest": 0, "linear": 1, "cubic": 3}
MASK_INTERPOLATORS = ("nearest", "linear")
DISCRETISATION_METHODS = ("fbn", "fbs", "ep", "fbs_aligned", "none")
IVH_METHODS = ("fbn", "fbs", "none")
DIMENSIONS = ("2D", "2_5D", "3D")
DIRECTIONAL_AGGREGATIONS = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb")


class SettingsError(SettingsInputError):
    """A settings document is malformed; the message names the offending key."""


# Families that do not change on a response map (they see the mask only, or nearly:
# morphology's centre-of-mass shift); IBSI-2 computes none of them on response maps.
MASK_ONLY_FAMILIES = families_where(on_response_maps=False)
# Families computed per discretisation: settings enabling one must give a discretisation.
DISCRETISED_FAMILIES = families_where(needs_discretisation=True)


def _check_keys(section: str, given: dict, allowed: set[str]) -> None:
    if not isinstance(given, dict):
        raise SettingsError(f"{section}: expected a mapping, got {type(given).__name__}")
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise SettingsError(
            f"{section}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}")


def _number(key: str, value, *, positive=False, integer=False, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SettingsError(f"{key}: expected a finite number, got {short_repr(value)}")
    if integer and int(value) != value:
        raise SettingsError(f"{key}: expected an integer, got {short_repr(value)}")
    if positive and value <= 0:
        raise SettingsError(f"{key}: must be > 0, got {short_repr(value)}")
    return int(value) if integer else float(value)


def _boolean(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{key}: expected true or false, got {short_repr(value)}")
    return value


def _choice(key: str, value, choices) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise SettingsError(f"{key}: expected one of {', '.join(choices)}, got {short_repr(value)}")
    return value.lower()


def _format_number(x: float) -> str:
    """25.0 -> '25', 2.5 -> '2p5' (tag-safe: no dots in feature names)."""
    return (f"{x:g}").replace(".", "p").replace("-", "m")


@dataclass(frozen=True)
class Resample:
    """Interpolation to a new grid (IBSI 2.4). ``spacing_xyz`` in mm, x/y/z order."""

    spacing_xyz: tuple[float, ...]
    in_plane: bool = False
    interpolator: str = "linear"
    mask_interpolator: str = "linear"
    mask_threshold: float = 0.5

    @property
    def spacing_zyx(self) -> tuple[float | None, float, float]:
        """Target spacing in array order; z is None for in-plane (2D) interpolation."""
        x, y = self.spacing_xyz[0], self.spacing_xyz[1]
        return (None if self.in_plane else self.spacing_xyz[2], y, x)

    @classmethod
    def from_dict(cls, d: dict) -> "Resample":
        _check_keys("resample", d, {f.name for f in dataclasses.fields(cls)})
        in_plane = _boolean("resample.in_plane", d.get("in_plane", False))
        spacing = d.get("spacing_xyz")
        if isinstance(spacing, (int, float)) and not isinstance(spacing, bool):
            spacing = [spacing] * (2 if in_plane else 3)
        if not isinstance(spacing, (list, tuple)) or len(spacing) != (2 if in_plane else 3):
            raise SettingsError(
                f"resample.spacing_xyz: expected {'[x, y]' if in_plane else '[x, y, z]'} "
                f"in mm (or one number), got {short_repr(spacing)}")
        spacing = tuple(_number("resample.spacing_xyz", s, positive=True) for s in spacing)
        threshold = _number("resample.mask_threshold", d.get("mask_threshold", 0.5))
        if not 0 < threshold <= 1:
            raise SettingsError(f"resample.mask_threshold: must be in (0, 1], got {threshold}")
        return cls(
            spacing_xyz=spacing,
            in_plane=in_plane,
            interpolator=_choice("resample.interpolator", d.get("interpolator", "linear"),
                                 tuple(INTERPOLATORS)),
            mask_interpolator=_choice("resample.mask_interpolator",
                                      d.get("mask_interpolator", "linear"), MASK_INTERPOLATORS),
            mask_threshold=threshold,
        )


@dataclass(frozen=True)
class Resegment:
    """Re-segmentation of the intensity mask (IBSI 2.5): a range and/or outlier filtering."""

    range: tuple[float | None, float | None] = (None, None)
    outliers_sd: float | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "Resegment":
        _check_keys("resegment", d, {"range", "outliers_sd"})
        rng = d.get("range", None) or (None, None)
        if not isinstance(rng, (list, tuple)) or len(rng) != 2:
            raise SettingsError(f"resegment.range: expected [low, high], got {short_repr(rng)}")
        low = _number("resegment.range", rng[0], allow_none=True)
        high = _number("resegment.range", rng[1], allow_none=True)
        if low is not None and high is not None and low >= high:
            raise SettingsError(f"resegment.range: low must be below high, got {list(rng)}")
        sd = _number("resegment.outliers_sd", d.get("outliers_sd"), positive=True,
                     allow_none=True)
        return cls(range=(low, high), outliers_sd=sd)


@dataclass(frozen=True)
class Discretisation:
    """One discretisation (IBSI 2.7).

    ``method``: ``fbn`` (fixed bin number ``n_bins``), ``fbs`` (fixed bin size ``bin_width``
    from ``lower_bound``, default the re-segmentation lower bound, else the ROI minimum),
    ``ep`` (``n_bins`` equal-probability bins), ``fbs_aligned`` (PyRadiomics: bin edges at
    multiples of ``bin_width``) or ``none`` (intensities are already grey levels 1..Ng).
    ``suffix`` is the tag suffix used when several discretisations are computed.
    """

    method: str
    n_bins: int | None = None
    bin_width: float | None = None
    lower_bound: float | None = None
    suffix: str = ""

    @classmethod
    def from_dict(cls, d: dict, section: str, methods=DISCRETISATION_METHODS
                  ) -> list["Discretisation"]:
        """Parse one entry; a list of ``n_bins`` or ``bin_width`` expands to several."""
        _check_keys(section, d, {"method", "n_bins", "bin_width", "lower_bound", "suffix"})
        if "method" not in d:
            raise SettingsError(f"{section}: 'method' is required ({', '.join(methods)})")
        method = _choice(f"{section}.method", d["method"], methods)
        needs = {"fbn": "n_bins", "ep": "n_bins", "fbs": "bin_width",
                 "fbs_aligned": "bin_width", "none": None}[method]
        for key in ("n_bins", "bin_width", "lower_bound"):
            if key in d and key != needs and not (key == "lower_bound" and method == "fbs"):
                raise SettingsError(f"{section}.{key}: not used by method {method!r}")
        if needs is None:
            return [cls(method=method, suffix=d.get("suffix") or "none")]
        if needs not in d:
            raise SettingsError(f"{section}.{needs}: required for method {method!r}")
        values = d[needs] if isinstance(d[needs], (list, tuple)) else [d[needs]]
        if not values:
            raise SettingsError(f"{section}.{needs}: empty list")
        if "suffix" in d and len(values) > 1:
            raise SettingsError(f"{section}.suffix: only allowed with a single {needs}")
        lower = _number(f"{section}.lower_bound", d.get("lower_bound"), allow_none=True)
        out = []
        for v in values:
            if needs == "n_bins":
                n = _number(f"{section}.n_bins", v, positive=True, integer=True)
                if method == "fbn" and n < 2:
                    raise SettingsError(f"{section}.n_bins: fixed bin number needs >= 2, got {n}")
                short = {"fbn": "fbn", "ep": "ep"}[method]
                out.append(cls(method=method, n_bins=n,
                               suffix=d.get("suffix") or f"{short}{n}"))
            else:
                w = _number(f"{section}.bin_width", v, positive=True)
                short = {"fbs": "fbs", "fbs_aligned": "fbsa"}[method]
                out.append(cls(method=method, bin_width=w, lower_bound=lower,
                               suffix=d.get("suffix") or f"{short}{_format_number(w)}"))
        return out


@dataclass(frozen=True)
class Texture:
    """Neighbourhood parameters of the texture families (IBSI 3.6-3.11)."""

    glcm_distance: int = 1
    ngtdm_distance: int = 1
    ngldm_distance: int = 1
    ngldm_coarseness: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "Texture":
        _check_keys("texture", d, {f.name for f in dataclasses.fields(cls)})
        kw = {}
        for f in dataclasses.fields(cls):
            if f.name in d:
                kw[f.name] = _number(f"texture.{f.name}", d[f.name], integer=True,
                                     positive=f.name != "ngldm_coarseness")
                if kw[f.name] < 0:
                    raise SettingsError(f"texture.{f.name}: must be >= 0, got {kw[f.name]}")
        return cls(**kw)


def _check_filter_spec(section: str, spec) -> dict:
    """A filter spec: known keys and filter name (the message names the key), and the
    filter's own keys and values (``neurorad.filters.validate_spec``)."""
    from neurorad.features.tags import TagError, filter_part

    if not isinstance(spec, dict):
        raise SettingsError(f"{section}: expected a filter spec mapping, got {short_repr(spec)}")
    try:
        filter_part(spec)
    except TagError as exc:
        raise SettingsError(f"{section}: {str(exc).removeprefix('filter spec: ')}") from None
    from neurorad.filters import FILTERS, validate_spec

    if spec["filter"] in FILTERS:  # else: refused by neurorad.filters when extracting
        try:
            validate_spec(spec)
        except Exception as exc:  # FilterSpecError, named key
            raise SettingsError(f"{section}: {exc}") from None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}


@dataclass(frozen=True)
class Filters:
    """Filtered images (IBSI-2 chapter 2): the response maps features are computed on.

    ``specs``: one filter spec per response map (keys of ``neurorad.filters.apply``);
    ``keep_original``: also compute the features of the unfiltered image; ``families`` and
    ``discretisation``: what is computed on response maps (None: derived from the
    settings, see ``Settings.response_map_settings``).
    """

    specs: tuple[dict, ...] = ()
    keep_original: bool = True
    families: tuple[str, ...] | None = None
    discretisation: tuple[Discretisation, ...] | None = None

    def tag_parts(self) -> tuple[str, ...]:
        """Filter part of the tags of each response map, in ``specs`` order; all empty when
        the settings compute one image only (one spec, original dropped): plain tags then,
        as with a single discretisation."""
        from neurorad.features.tags import filter_part

        if len(self.specs) == 1 and not self.keep_original:
            return ("",)
        return tuple(filter_part(s) for s in self.specs)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"keep_original": self.keep_original,
                               "specs": [dict(s) for s in self.specs]}
        if self.families is not None:
            out["families"] = list(self.families)
        if self.discretisation is not None:
            out["discretisation"] = [_discretisation_dict(d) for d in self.discretisation]
        return out

    @classmethod
    def from_dict(cls, d) -> "Filters":
        if isinstance(d, (list, tuple)):
            d = {"specs": list(d)}
        _check_keys("filters", d, {"keep_original", "specs", "families", "discretisation"})
        specs = d.get("specs") or []
        if not isinstance(specs, (list, tuple)):
            raise SettingsError(f"filters.specs: expected a list of filter specs, got {short_repr(specs)}")
        kw: dict[str, Any] = {
            "specs": tuple(_check_filter_spec(f"filters.specs[{i}]", s)
                           for i, s in enumerate(specs)),
            "keep_original": _boolean("filters.keep_original", d.get("keep_original", True)),
        }
        if d.get("families") is not None:
            kw["families"] = _parse_families("filters.families", d["families"])
        if d.get("discretisation") is not None:
            kw["discretisation"] = Settings._parse_discretisations(
                d["discretisation"], "filters.discretisation")
        out = cls(**kw)
        if not out.specs and not out.keep_original:
            raise SettingsError("filters: keep_original is false and there are no specs: "
                                "nothing would be computed")
        parts = [p for p in out.tag_parts() if p]
        dupes = sorted({p for p in parts if parts.count(p) > 1})
        if dupes:
            raise SettingsError(f"filters.specs: the same filter twice ({', '.join(dupes)})")
        return out


def _discretisation_dict(d: Discretisation) -> dict:
    out: dict[str, Any] = {"method": d.method}
    for key in ("n_bins", "bin_width", "lower_bound"):
        if getattr(d, key) is not None:
            out[key] = getattr(d, key)
    out["suffix"] = d.suffix
    return out


def _parse_families(section: str, fams) -> tuple[str, ...]:
    if isinstance(fams, str):
        fams = list(FAMILIES) if fams == "all" else [fams]
    if not isinstance(fams, (list, tuple)) or not fams:
        raise SettingsError(f"{section}: expected a non-empty list or 'all', got {short_repr(fams)}")
    chosen = {_choice(section, x, FAMILIES) for x in fams}
    return tuple(f for f in FAMILIES if f in chosen)


@dataclass(frozen=True)
class Settings:
    """Validated, immutable extraction settings; build with ``load_settings``."""

    name: str = "custom"
    description: str = ""
    roi_label: int = 1
    round_intensities: bool = False
    resample: Resample | None = None
    resegment: Resegment = field(default_factory=Resegment)
    discretisation: tuple[Discretisation, ...] = ()
    ivh_discretisation: Discretisation | None = None
    families: tuple[str, ...] = DEFAULT_FAMILIES
    aggregations: tuple[str, ...] = ("3D",)
    texture: Texture = field(default_factory=Texture)
    device: str = "auto"
    filters: Filters | None = None

    # -- derived views used by the orchestrator ------------------------------------------
    def directional_aggregations(self) -> tuple[str, ...]:
        """Aggregations for GLCM/GLRLM (``2D_avg`` ... ``3D_comb``), in canonical order."""
        chosen = set()
        for a in self.aggregations:
            chosen.update([f"{a}_avg", f"{a}_comb"] if a in DIMENSIONS else [a])
        return tuple(a for a in DIRECTIONAL_AGGREGATIONS if a in chosen)

    def plain_aggregations(self) -> tuple[str, ...]:
        """Aggregations for GLSZM, GLDZM, NGTDM, NGLDM (``2D``, ``2_5D``, ``3D``)."""
        chosen = {a.rsplit("_", 1)[0] if a in DIRECTIONAL_AGGREGATIONS else a
                  for a in self.aggregations}
        return tuple(d for d in DIMENSIONS if d in chosen)

    def discretisation_suffixes(self) -> tuple[str, ...]:
        """Tag suffix per discretisation: '' when there is only one (plain IBSI tags)."""
        if len(self.discretisation) == 1:
            return ("",)
        return tuple("_" + d.suffix for d in self.discretisation)

    def response_map_settings(self) -> "Settings":
        """The settings features of a response map are computed with (IBSI-2 chain).

        Same as these settings except: families ``filters.families`` (default: these
        families less morphology and fractal), discretisation ``filters.discretisation``
        (default: this one), no re-segmentation (the intensity mask comes from the
        unfiltered image, so the range's bounds are in its units: the FBS lower bound and
        the IVH range fall back to the response map's ROI minimum / maximum), no rounding,
        no filters.
        """
        f = self.filters or Filters()
        families = f.families if f.families is not None else tuple(
            x for x in self.families if x not in MASK_ONLY_FAMILIES)
        discretisation = (f.discretisation if f.discretisation is not None
                          else self.discretisation)
        return dataclasses.replace(self, families=families, discretisation=discretisation,
                                   resegment=Resegment(), round_intensities=False,
                                   filters=None)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Canonical plain dict; ``load_settings(s.to_dict())`` gives back an equal object."""
        disc = _discretisation_dict
        out = {
            "name": self.name,
            "description": self.description,
            "roi_label": self.roi_label,
            "round_intensities": self.round_intensities,
            "resample": None if self.resample is None else {
                "spacing_xyz": list(self.resample.spacing_xyz),
                "in_plane": self.resample.in_plane,
                "interpolator": self.resample.interpolator,
                "mask_interpolator": self.resample.mask_interpolator,
                "mask_threshold": self.resample.mask_threshold,
            },
            "resegment": {"range": list(self.resegment.range),
                          "outliers_sd": self.resegment.outliers_sd},
            "discretisation": [disc(d) for d in self.discretisation],
            "ivh_discretisation": (None if self.ivh_discretisation is None
                                   else disc(self.ivh_discretisation)),
            "families": list(self.families),
            "aggregations": list(self.aggregations),
            "texture": dataclasses.asdict(self.texture),
            "device": self.device,
        }
        if self.filters is not None:
            # Only when given, so that settings without filters keep their settings_id.
            out["filters"] = self.filters.to_dict()
        return out

    @property
    def settings_id(self) -> str:
        """Short stable hash of what changes feature values (name/description excluded)."""
        d = self.to_dict()
        d.pop("name")
        d.pop("description")
        canonical = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, d: dict) -> "Settings":
        _check_keys("settings", d, {f.name for f in dataclasses.fields(cls)})
        kw: dict[str, Any] = {}
        if "name" in d:
            kw["name"] = str(d["name"])
        if "description" in d:
            kw["description"] = str(d["description"] or "")
        if "roi_label" in d:
            kw["roi_label"] = _number("roi_label", d["roi_label"], integer=True)
        if "round_intensities" in d:
            kw["round_intensities"] = _boolean("round_intensities", d["round_intensities"])
        if d.get("resample") is not None:
            kw["resample"] = Resample.from_dict(d["resample"])
        if d.get("resegment") is not None:
            kw["resegment"] = Resegment.from_dict(d["resegment"])
        kw["discretisation"] = cls._parse_discretisations(d.get("discretisation"))
        if d.get("ivh_discretisation") is not None:
            ivh = Discretisation.from_dict(d["ivh_discretisation"], "ivh_discretisation",
                                           IVH_METHODS)
            if len(ivh) != 1:
                raise SettingsError("ivh_discretisation: give exactly one bin width / number")
            kw["ivh_discretisation"] = ivh[0]
        if "families" in d:
            kw["families"] = _parse_families("families", d["families"])
        if "aggregations" in d:
            aggs = d["aggregations"]
            aggs = [aggs] if isinstance(aggs, str) else aggs
            if not isinstance(aggs, (list, tuple)) or not aggs:
                raise SettingsError(f"aggregations: expected a non-empty list, got {short_repr(aggs)}")
            allowed = DIMENSIONS + DIRECTIONAL_AGGREGATIONS
            for a in aggs:
                if a not in allowed:
                    raise SettingsError(
                        f"aggregations: {short_repr(a)} is not one of {', '.join(allowed)}")
            kw["aggregations"] = tuple(a for a in allowed if a in set(aggs))
        if d.get("texture") is not None:
            kw["texture"] = Texture.from_dict(d["texture"])
        if "device" in d:
            kw["device"] = _choice("device", d["device"], DEVICES)
        if d.get("filters") is not None:
            kw["filters"] = Filters.from_dict(d["filters"])
        settings = cls(**kw)
        needs_bins = set(DISCRETISED_FAMILIES)
        if needs_bins & set(settings.families) and not settings.discretisation:
            raise SettingsError(
                "discretisation: required for families "
                f"{', '.join(sorted(needs_bins & set(settings.families)))}")
        if ("ivh" in settings.families and settings.ivh_discretisation is None
                and not settings.discretisation):
            raise SettingsError("ivh_discretisation: required for the ivh family "
                                "(or give discretisation)")
        if settings.filters is not None and settings.filters.specs:
            response = settings.response_map_settings()
            missing = needs_bins & set(response.families)
            if missing and not response.discretisation:
                raise SettingsError("filters.discretisation: required for families on "
                                    f"response maps {', '.join(sorted(missing))}")
        return settings

    @staticmethod
    def _parse_discretisations(value, section: str = "discretisation"
                               ) -> tuple[Discretisation, ...]:
        if value is None:
            return ()
        entries = value if isinstance(value, (list, tuple)) else [value]
        out: list[Discretisation] = []
        for i, entry in enumerate(entries):
            out.extend(Discretisation.from_dict(entry, f"{section}[{i}]"))
        suffixes = [d.suffix for d in out]
        dupes = sorted({s for s in suffixes if suffixes.count(s) > 1})
        if dupes:
            raise SettingsError(f"{section}: duplicate entries/suffixes {dupes}")
        return tuple(out)


_LEVEL_NAME = re.compile(r"^([A-Za-z_]*?)_?(\d+(?:[p.]\d+)?)$")


def discretisation_sort_key(level) -> tuple:
    """Order of discretisation levels (suffixes such as ``fbn32``, or plain numbers): by
    method, then by the numeric level.

    ``8 < 32 < 128``; ``"ep8" < "fbn8" < "fbn16" < "fbn128"`` (text order would put
    ``"fbn128"`` before ``"fbn16"``); ``"fbs2p5"`` is bin width 2.5 (the suffix writes the
    decimal point as ``p``). Names without a number come after the numbered ones of their
    text.
    """
    if isinstance(level, numbers.Real):
        return ("", float(level))
    text = str(level)
    m = _LEVEL_NAME.match(text)
    if m is None:
        return (text, math.inf)
    return (m.group(1), float(m.group(2).replace("p", ".")))
