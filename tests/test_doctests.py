"""The Examples sections of the public entry points run (doctest) and give what they say."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "neurorad.extraction",          # extract_features, extract_features_batch
    "neurorad.settings",            # load_settings
    "neurorad.batch.runner",        # extract_manifest
    "neurorad.modeling.evaluate",   # evaluate
    "neurorad.modeling.models",     # make_model
    "neurorad.filters",             # apply
    "neurorad.errors",              # exit_code_for
    "neurorad.backend",             # ndimage
    "neurorad.features",            # families_where
    "neurorad.studies.published",   # published_table
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} example(s) of {name} failed (output above)"
