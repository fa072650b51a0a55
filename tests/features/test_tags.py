"""Feature tags: the filter part of features of filtered images, one builder, one parser."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from neurorad.features.tags import (TagError, build_tag, filter_part, normalise_spec,
                                    parse_filter_part, parse_tag)

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [Path(os.environ["NEURORAD_SHARED"])] if os.environ.get("NEURORAD_SHARED") else []
CANDIDATES += [ROOT.parent / "shared", Path("/work/shared")]
IBSI2 = next((p / "ibsi2" for p in CANDIDATES if (p / "ibsi2" / "phase1_cases.json").is_file()),
             None)

# Written out by hand from the grammar in docs/features.md ("Filter part").
HAND_WRITTEN = [
    ({"filter": "log", "dimensions": "3d", "boundary": "mirror", "sigma_mm": 2.0,
      "cutoff_sigmas": 4.0}, "log_s2"),
    ({"filter": "log", "dimensions": "2d", "boundary": "zero", "sigma_mm": 1.5,
      "cutoff_sigmas": 3.0}, "log_s1p5_c3_2d_zero"),
    ({"filter": "mean", "dimensions": "3d", "boundary": "periodic", "support_voxels": 15},
     "mean_m15_periodic"),
    ({"filter": "laws", "dimensions": "3d", "boundary": "mirror", "kernel": "L5E5E5",
      "rotation_invariant": True, "pooling": "max", "response_energy": True,
      "energy_distance_voxels": 7}, "laws_l5e5e5_en7_rimax"),
    ({"filter": "laws", "dimensions": "3d", "boundary": "zero", "kernel": "E5L5S5",
      "rotation_invariant": False, "pooling": "none", "response_energy": False},
     "laws_e5l5s5_zero"),
    ({"filter": "gabor", "dimensions": "2d", "boundary": "zero", "sigma_mm": 10.0,
      "wavelength_mm": 4.0, "spatial_aspect_ratio": 0.5, "orientation_deg": -60.0,
      "rotation_invariant": False, "pooling": "none", "orthogonal_planes": False,
      "response": "modulus"}, "gabor_s10_w4_g0p5_tm60_2d_zero"),
    ({"filter": "wavelet", "dimensions": "3d", "boundary": "mirror", "kernel": "db3",
      "wavelet_response": "LLH", "decomposition_level": 1, "rotation_invariant": True,
      "pooling": "average"}, "wavelet_db3_llh_l1_riavg"),
    ({"filter": "riesz", "base_filter": "simoncelli", "dimensions": "3d",
      "boundary": "nearest", "decomposition_level": 1, "riesz_order": [0, 2, 0],
      "riesz_aligned": True, "structure_tensor_sigma": 1.0},
     "riesz_simoncelli_l1_st1_o020_nearest"),
    ({"filter": "none", "dimensions": "2d"}, "none_2d"),
    ({"filter": "square_root"}, "square_root"),
]


@pytest.mark.parametrize("spec, part", HAND_WRITTEN)
def test_filter_part_is_written_as_documented_and_read_back(spec, part):
    assert filter_part(spec) == part
    assert parse_filter_part(part) == normalise_spec(spec)


def test_issue_example_and_build_parse_round_trip():
    spec = {"filter": "log", "sigma_mm": 2, "dimensions": "3d", "boundary": "mirror",
            "cutoff_sigmas": 4}
    assert build_tag("stat_mean", filter_spec=spec) == "stat_mean__log_s2"
    tag = build_tag("cm_joint_max", "3D_avg", "fbn32", spec)
    assert tag == "cm_joint_max_3D_avg_fbn32__log_s2"
    t = parse_tag(tag)
    assert (t.base, t.aggregation, t.discretisation) == ("cm_joint_max", "3D_avg", "fbn32")
    assert t.filter == normalise_spec(spec)
    # Plain IBSI tags parse with no filter; the longest base wins (ih_mode vs ...).
    plain = parse_tag("szm_sze_2_5D")
    assert (plain.base, plain.aggregation, plain.discretisation, plain.filter) == (
        "szm_sze", "2_5D", "", None)
    assert parse_tag("stat_mean").filter is None


@pytest.mark.parametrize("part", ["lug_s2", "log_x2", "log_s2_s3x", "log_s2_mirror",
                                  "log_s2_c4", "laws"])
def test_malformed_or_non_canonical_parts_are_refused(part):
    with pytest.raises(TagError):
        parse_filter_part(part)


def test_unknown_spec_key_is_named():
    with pytest.raises(TagError, match="sigmaa"):
        filter_part({"filter": "log", "sigmaa": 2})


@pytest.mark.skipif(IBSI2 is None, reason="shared/ibsi2 case files not found")
def test_every_ibsi2_spec_has_a_distinct_part_that_parses_back():
    specs = []
    for name in ("phase1_cases.json", "phase2_cases.json"):
        specs += [c["spec"] for c in json.loads((IBSI2 / name).read_text())["cases"]]
    parts = {}
    for spec in specs:
        part = filter_part(spec)
        assert "__" not in part
        assert parse_filter_part(part) == normalise_spec(spec)
        parts.setdefault(part, []).append(json.dumps(normalise_spec(spec), sort_keys=True))
    # Same part only for the same (normalised) spec: unambiguous.
    assert all(len(set(v)) == 1 for v in parts.values())
    assert len(parts) == len({json.dumps(normalise_spec(s), sort_keys=True) for s in specs})


def test_tag_grammar_knows_every_registered_filter():
    """A filter added to neurorad.filters needs its name (and keys) in the tag grammar."""
    from neurorad.features.tags import FILTER_NAMES, SPEC_KEYS
    from neurorad.filters import FILTERS

    assert set(FILTER_NAMES) == set(FILTERS)
    for name, module in FILTERS.items():
        assert set(module.CHECKS) <= set(SPEC_KEYS), name
