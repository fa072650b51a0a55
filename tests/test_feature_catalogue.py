"""The feature catalogue and docs/features.md stay in step with the family modules."""
from __future__ import annotations

import re
from pathlib import Path

import neurorad
from neurorad.features import family_table
from neurorad.features.catalogue import FAMILY_TITLES, expected_tags, render_markdown
from neurorad.settings import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
AGGREGATION = re.compile(r"_(2D|2_5D|3D)(_avg|_comb)?$")


def test_docs_features_md_is_generated_from_the_tables():
    text = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert text == render_markdown(), (
        "docs/features.md is out of date: run "
        "`python -m neurorad.features.catalogue > docs/features.md`")


def test_every_family_is_documented_and_tables_are_well_formed():
    assert set(FAMILY_TITLES) == set(FAMILIES)
    for family in FAMILIES:
        table = family_table(family)
        if table is None:
            continue
        for tag, entry in table.items():
            assert len(entry) == 3, (family, tag)
            # base tags: no aggregation suffix (it is added per settings)
            assert " " not in tag and not AGGREGATION.search(tag), tag


def test_expected_tags_follow_the_naming_rule():
    s = neurorad.load_settings({
        "discretisation": [{"method": "fbn", "n_bins": 8}, {"method": "ep", "n_bins": 4}],
        "families": ["statistics", "histogram", "glcm", "glszm"], "aggregations": ["3D"]})
    tags = expected_tags(s)
    if family_table("glcm") is not None:
        assert "cm_joint_max_3D_avg_fbn8" in tags and "cm_joint_max_3D_comb_ep4" in tags
    if family_table("glszm") is not None:
        assert "szm_sze_3D_ep4" in tags
    assert "stat_mean" in tags and "stat_mean_fbn8" not in tags
    assert "ih_mean_ep4" in tags and "ih_mean" not in tags
    assert len(tags) == len(set(tags))
