"""The study registry is the one list of studies: every entry is complete and everything that
lists studies reads it."""
from __future__ import annotations

import importlib
import math

import pytest

from neurorad.studies import STUDIES, UnknownStudyError, get_study
from neurorad.studies.notebooks import read_source
from neurorad.studies.published import headline_published, published_table


@pytest.mark.parametrize("name", list(STUDIES))
def test_every_entry_is_complete(name):
    study = STUDIES[name]
    assert study.name == name and study.title
    assert "# %% tags=[\"parameters\"]" in read_source(name)
    generator = importlib.import_module(study.synth)
    for function in ("plan_cohort", "render_subject", "finalise"):
        assert callable(getattr(generator, function)), (study.synth, function)
    assert study.published_subjects > 0
    assert all(v.study == name for v in study.published)
    if study.headline is None:
        assert headline_published(name) is None
    else:
        value = headline_published(name)
        assert (value.task, value.model, value.metric, value.target_class) == (
            study.headline.task, study.headline.model, study.headline.metric,
            study.headline.target_class)
        assert not math.isnan(value.value)


def test_unknown_study_names_the_registered_ones():
    with pytest.raises(UnknownStudyError, match="unknown study 'gbm'; choose one of nf2, pet"):
        get_study("gbm")
    with pytest.raises(ValueError):
        published_table("gbm")


def test_command_line_and_index_list_the_registry():
    from neurorad.reports.cli import STUDY_CHOICES
    from neurorad.synth.cli import register
    import argparse

    assert STUDY_CHOICES == (*STUDIES, "all")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    demo = parser.parse_args(["demo-data", "glioma", "--out", "x"])
    assert demo.study == "glioma"
    assert len(published_table()) == sum(len(s.published) for s in STUDIES.values())
