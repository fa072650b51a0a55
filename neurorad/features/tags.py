"""Feature tags: one function builds them (:func:`build_tag`), one parses them (:func:`parse_tag`).

Grammar (``docs/features.md``, "Tag naming")::

    <base>[_<aggregation>][_<discretisation>][__<filter>]

``<base>`` is a family's IBSI tag (``stat_mean``, ``cm_joint_max``), ``<aggregation>`` one of
``2D_avg`` ... ``3D_comb``, ``2D``, ``2_5D``, ``3D`` (texture families), ``<discretisation>``
a discretisation suffix (``fbn32``, ``fbs2p5``; only with several discretisations) and
``<filter>`` the *filter part* of a feature computed on a filter response map (IBSI-2). The
filter part is separated by a double underscore, which no other part of a tag contains, so it
is found without knowing the families. It is written from the filter spec
(:func:`filter_part`) as ``_``-separated tokens::

    <filter name>[_<positional>...][_<prefix><value>...][_<flag>...]

``log_s2`` is a 3-D Laplacian of Gaussian with sigma 2 mm (mirror boundary, cut-off 4 sigma);
``laws_l5e5e5_en7_rimax`` the rotation-invariant (max-pooled) L5E5E5 Laws energy map with
delta 7; ``wavelet_db3_llh_l1_riavg`` the level-1 Daubechies-3 LLH response, averaged over
the 24 rotations; ``gabor_s5_w2_g1p5_t0_d22p5_riavg_op_2d``. Numbers are written like the
discretisation suffixes (``2.5`` -> ``2p5``, ``-60`` -> ``m60``). The parts that are left
out take their conventional value: ``dimensions`` 3d (``2d`` is written), ``boundary``
mirror (``zero``, ``nearest``, ``periodic`` are written), ``cutoff_sigmas`` 4, Gabor
``response`` modulus, no rotation invariance, no energy map, no orthogonal planes, no
structure-tensor alignment. Every other value is written, so two specs that compute
different maps never share a tag, and :func:`parse_tag` gives back the spec.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FILTER_NAMES", "SPEC_KEYS", "FeatureTag", "build_tag", "filter_part",
           "parse_filter_part", "parse_tag", "normalise_spec"]

FILTER_SEPARATOR = "__"
FILTER_NAMES = ("none", "mean", "log", "laws", "gabor", "wavelet", "simoncelli", "riesz",
                "square", "square_root", "logarithm", "exponential", "gradient")
# Keys of a filter spec (IBSI-2 phase-1/phase-2 case files, shared/ibsi2/README.md).
SPEC_KEYS = ("filter", "dimensions", "boundary", "support_voxels", "sigma_mm",
             "cutoff_sigmas", "kernel", "response_energy", "energy_distance_voxels",
             "wavelength_mm", "spatial_aspect_ratio", "orientation_deg",
             "orientation_step_deg", "orthogonal_planes", "response", "rotation_invariant",
             "pooling", "decomposition_level", "wavelet_response", "riesz_order",
             "base_filter", "riesz_aligned", "structure_tensor_sigma")
BOUNDARIES = ("zero", "nearest", "periodic", "mirror")
POOLINGS = ("average", "max")
# Values a filter part leaves out.
CONVENTIONAL = {"dimensions": "3d", "boundary": "mirror", "cutoff_sigmas": 4.0,
                "response": "modulus"}
# Numeric parameters: key -> (token prefix, integer?), in the order they are written.
NUMERIC = (
    ("support_voxels", "m", True),
    ("sigma_mm", "s", False),
    ("cutoff_sigmas", "c", False),
    ("wavelength_mm", "w", False),
    ("spatial_aspect_ratio", "g", False),
    ("orientation_deg", "t", False),
    ("orientation_step_deg", "d", False),
    ("decomposition_level", "l", True),
    ("energy_distance_voxels", "en", True),
    ("structure_tensor_sigma", "st", False),
)
_PREFIX_KEY = {prefix: (key, integer) for key, prefix, integer in NUMERIC}
# Filters whose second token is a name: (key, to tag, from tag).
_POSITIONAL = {
    "laws": (("kernel", str.lower, str.upper),),
    "wavelet": (("kernel", str.lower, str.lower),
                ("wavelet_response", str.lower, str.upper)),
    "riesz": (("base_filter", str.lower, str.lower),),
}
_POOL_TOKEN = {"average": "riavg", "max": "rimax"}
_NUMBER = re.compile(r"^m?\d+(?:p\d+)?(?:e[+m]?\d+)?$")
AGGREGATIONS = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb",
                "2D", "2_5D", "3D")


class TagError(ValueError):
    """A tag or a filter spec cannot be written / read as a feature tag."""


def _number_text(x: float) -> str:
    """2.5 -> '2p5', -60 -> 'm60', 4.0 -> '4' (tag-safe: no dots or minus signs)."""
    return f"{float(x):.12g}".replace(".", "p").replace("-", "m").replace("+", "")


def _number_value(text: str, integer: bool, token: str) -> float | int:
    if not _NUMBER.match(text):
        raise TagError(f"filter part token {token!r}: {text!r} is not a number")
    value = float(text.replace("p", ".").replace("m", "-"))
    if integer:
        if value != int(value):
            raise TagError(f"filter part token {token!r}: expected an integer")
        return int(value)
    return value


def normalise_spec(spec: dict) -> dict:
    """The spec with the values a filter part leaves out filled in and lists as lists.

    Two specs that describe the same filter (``rotation_invariant`` absent or false,
    ``boundary`` absent or ``mirror`` ...) normalise to the same dict; this is what
    :func:`parse_filter_part` returns.
    """
    if not isinstance(spec, dict):
        raise TagError(f"filter spec: expected a mapping, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise TagError(f"filter spec: unknown key(s) {', '.join(map(repr, unknown))}; "
                       f"allowed: {', '.join(SPEC_KEYS)}")
    if "filter" not in spec:
        raise TagError("filter spec: 'filter' is required "
                       f"({', '.join(FILTER_NAMES)})")
    name = spec["filter"]
    if name not in FILTER_NAMES:
        raise TagError(f"filter spec: filter {name!r} is not one of {', '.join(FILTER_NAMES)}")
    out = {"filter": name}
    for key in SPEC_KEYS[1:]:
        if key not in spec:
            continue
        value = spec[key]
        if isinstance(value, tuple):
            value = list(value)
        out[key] = value
    out.setdefault("dimensions", CONVENTIONAL["dimensions"])
    if name != "none":
        out.setdefault("boundary", CONVENTIONAL["boundary"])
    if name == "log" or (name == "riesz" and out.get("base_filter") == "log"):
        out.setdefault("cutoff_sigmas", CONVENTIONAL["cutoff_sigmas"])
    if name == "gabor":
        out.setdefault("response", CONVENTIONAL["response"])
    if out.get("rotation_invariant") is False or out.get("pooling") == "none":
        out.pop("rotation_invariant", None)
        out.pop("pooling", None)
    if out.get("response_energy") is False:
        out.pop("response_energy")
        out.pop("energy_distance_voxels", None)
    if out.get("orthogonal_planes") is False:
        out.pop("orthogonal_planes")
    if out.get("riesz_aligned") is False:
        out.pop("riesz_aligned")
        out.pop("structure_tensor_sigma", None)
    for key, _, integer in NUMERIC:
        if key in out and out[key] is not None:
            if isinstance(out[key], bool) or not isinstance(out[key], (int, float)):
                raise TagError(f"filter spec: {key} must be a number, got {out[key]!r}")
            out[key] = int(out[key]) if integer and out[key] == int(out[key]) else float(out[key])
    return {key: out[key] for key in SPEC_KEYS if key in out}


def filter_part(spec: dict) -> str:
    """The filter part of the tags of features computed on the response map of ``spec``.

    >>> filter_part({"filter": "log", "sigma_mm": 2.0, "cutoff_sigmas": 4.0,
    ...              "dimensions": "3d", "boundary": "mirror"})
    'log_s2'
    >>> filter_part({"filter": "laws", "kernel": "L5E5E5", "dimensions": "3d",
    ...              "boundary": "mirror", "rotation_invariant": True, "pooling": "max",
    ...              "response_energy": True, "energy_distance_voxels": 7})
    'laws_l5e5e5_en7_rimax'
    """
    s = normalise_spec(spec)
    name = s["filter"]
    tokens = [name]
    for key, to_tag, _ in _POSITIONAL.get(name, ()):
        if key not in s:
            raise TagError(f"filter spec: {name} needs {key!r}")
        tokens.append(to_tag(str(s[key])))
    for key, prefix, _ in NUMERIC:
        if key in s and s[key] is not None and s[key] != CONVENTIONAL.get(key):
            tokens.append(prefix + _number_text(s[key]))
    if "riesz_order" in s:
        order = list(s["riesz_order"])
        if any(not isinstance(o, int) or isinstance(o, bool) or not 0 <= o <= 9 for o in order):
            raise TagError(f"filter spec: riesz_order must be integers 0..9, got {order}")
        tokens.append("o" + "".join(str(o) for o in order))
    if s.get("rotation_invariant"):
        pooling = s.get("pooling")
        if pooling not in POOLINGS:
            raise TagError(f"filter spec: rotation_invariant needs pooling average or max, "
                           f"got {pooling!r}")
        tokens.append(_POOL_TOKEN[pooling])
    if s.get("response_energy") and "energy_distance_voxels" not in s:
        tokens.append("en")
    if s.get("orthogonal_planes"):
        tokens.append("op")
    if s.get("riesz_aligned") and "structure_tensor_sigma" not in s:
        tokens.append("st")
    if s.get("response", "modulus") != "modulus":
        tokens.append("resp" + str(s["response"]).lower())
    if s["dimensions"] != "3d":
        tokens.append(str(s["dimensions"]).lower())
    if s.get("boundary", "mirror") != "mirror":
        if s["boundary"] not in BOUNDARIES:
            raise TagError(f"filter spec: boundary {s['boundary']!r} is not one of "
                           f"{', '.join(BOUNDARIES)}")
        tokens.append(s["boundary"])
    return "_".join(tokens)


def parse_filter_part(part: str) -> dict:
    """The (normalised) filter spec a filter part was written from; inverse of
    :func:`filter_part`.

    >>> parse_filter_part("log_s1p5_2d")
    {'filter': 'log', 'dimensions': '2d', 'boundary': 'mirror', 'sigma_mm': 1.5, 'cutoff_sigmas': 4.0}
    """
    tokens = part.split("_")
    # Filter names may contain an underscore (square_root).
    name = next((n for n in sorted(FILTER_NAMES, key=len, reverse=True)
                 if tokens[:n.count("_") + 1] == n.split("_")), None)
    if name is None:
        raise TagError(f"filter part {part!r}: unknown filter {tokens[0]!r} "
                       f"({', '.join(FILTER_NAMES)})")
    rest = tokens[name.count("_") + 1:]
    spec: dict = {"filter": name}
    for key, _, from_tag in _POSITIONAL.get(name, ()):
        if not rest:
            raise TagError(f"filter part {part!r}: {name} needs its {key}")
        spec[key] = from_tag(rest.pop(0))
    for token in rest:
        if token in ("2d", "3d"):
            spec["dimensions"] = token
        elif token in BOUNDARIES:
            spec["boundary"] = token
        elif token in ("riavg", "rimax"):
            spec["rotation_invariant"] = True
            spec["pooling"] = "average" if token == "riavg" else "max"
        elif token == "op":
            spec["orthogonal_planes"] = True
        elif token == "en":
            spec["response_energy"] = True
        elif token == "st":
            spec["riesz_aligned"] = True
        elif token.startswith("resp"):
            spec["response"] = token[4:]
        elif re.fullmatch(r"o\d+", token):
            spec["riesz_order"] = [int(c) for c in token[1:]]
        else:
            m = re.fullmatch(r"(en|st|[a-z])(.+)", token)
            if m is None or m.group(1) not in _PREFIX_KEY:
                raise TagError(f"filter part {part!r}: token {token!r} is not understood")
            key, integer = _PREFIX_KEY[m.group(1)]
            spec[key] = _number_value(m.group(2), integer, token)
            if key == "energy_distance_voxels":
                spec["response_energy"] = True
            if key == "structure_tensor_sigma":
                spec["riesz_aligned"] = True
    out = normalise_spec(spec)
    if filter_part(out) != part:
        raise TagError(f"filter part {part!r} is not in canonical form "
                       f"(expected {filter_part(out)!r})")
    return out


def build_tag(base: str, aggregation: str = "", discretisation: str = "",
              filter_spec: "dict | str | None" = None) -> str:
    """``<base>[_<aggregation>][_<discretisation>][__<filter part>]``.

    Parameters
    ----------
    base : str
        IBSI base tag (``cm_joint_max``), or a tag already carrying its aggregation and
        discretisation (the extraction adds the filter part to the tags a family returns).
    aggregation, discretisation : str
        Without the leading underscore; empty: none.
    filter_spec : dict, str or None
        Filter spec of the response map (its :func:`filter_part` is appended), a filter part
        already written, or None (the original image: no filter part).

    >>> build_tag("cm_joint_max", "3D_avg", "fbn32", {"filter": "log", "sigma_mm": 2})
    'cm_joint_max_3D_avg_fbn32__log_s2'
    """
    tag = base
    if aggregation:
        tag += "_" + aggregation
    if discretisation:
        tag += "_" + discretisation
    if filter_spec is not None:
        part = filter_spec if isinstance(filter_spec, str) else filter_part(filter_spec)
        if part:
            tag += FILTER_SEPARATOR + part
    return tag


@dataclass(frozen=True)
class FeatureTag:
    """The parts of a feature tag (see module doc); ``filter`` is the normalised spec or None."""

    base: str
    aggregation: str = ""
    discretisation: str = ""
    filter: dict | None = None

    @property
    def family_prefix(self) -> str:
        return self.base.split("_", 1)[0]


def _base_tags() -> set[str]:
    from neurorad.features import FAMILIES, family_table

    out: set[str] = set()
    for family in FAMILIES:
        out.update(family_table(family) or ())
    return out


def parse_tag(tag: str, base_tags: "set[str] | None" = None) -> FeatureTag:
    """Split a feature tag into base, aggregation, discretisation and filter spec.

    Parameters
    ----------
    tag : str
    base_tags : set of str, optional
        Known base tags; default every family's ``FEATURES`` table. The longest base that
        the tag starts with (followed by ``_`` or the end) is taken.

    Raises
    ------
    TagError
        No known base tag, or a filter part that does not parse.

    >>> t = parse_tag("cm_joint_max_3D_avg_fbn32__log_s2_2d")
    >>> (t.base, t.aggregation, t.discretisation, t.filter["sigma_mm"], t.filter["dimensions"])
    ('cm_joint_max', '3D_avg', 'fbn32', 2.0, '2d')
    """
    head, sep, part = tag.partition(FILTER_SEPARATOR)
    spec = parse_filter_part(part) if sep else None
    bases = _base_tags() if base_tags is None else base_tags
    candidates = [b for b in bases if head == b or head.startswith(b + "_")]
    if not candidates:
        raise TagError(f"tag {tag!r}: no known feature starts it")
    base = max(candidates, key=len)
    rest = head[len(base) + 1:]
    aggregation = ""
    for agg in sorted(AGGREGATIONS, key=len, reverse=True):
        if rest == agg or rest.startswith(agg + "_"):
            aggregation, rest = agg, rest[len(agg) + 1:]
            break
    return FeatureTag(base=base, aggregation=aggregation, discretisation=rest, filter=spec)
