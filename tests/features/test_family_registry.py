"""The feature-family registry is the one list of families: every entry points at a module
with a FEATURES table and its function, and every consumer reads it."""
from __future__ import annotations

import importlib
import inspect

import pytest

import neurorad
from neurorad.features import FAMILIES, INPUTS, families_where
from neurorad.settings import SettingsError
from neurorad.settings.schema import DEFAULT_FAMILIES, FAMILIES as SETTINGS_FAMILIES


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_module_has_its_table_and_function(name):
    family = FAMILIES[name]
    module = importlib.import_module(family.module)
    assert family.inputs in INPUTS
    assert isinstance(module.FEATURES, dict) and module.FEATURES
    function = getattr(module, family.function)
    assert callable(function)
    if family.aggregations is not None:
        assert "aggregations" in inspect.signature(function).parameters


def test_settings_take_family_names_from_the_registry():
    assert SETTINGS_FAMILIES == tuple(FAMILIES)
    assert DEFAULT_FAMILIES == tuple(n for n, f in FAMILIES.items() if f.default)
    with pytest.raises(SettingsError, match="glcm"):  # the message lists the valid names
        neurorad.load_settings({"families": ["glcmm"], "discretisation": {"method": "fbn",
                                                                           "n_bins": 8}})
    for name in families_where(needs_discretisation=True):
        with pytest.raises(SettingsError, match=f"discretisation: required.*{name}"):
            neurorad.load_settings({"families": [name], "discretisation": []})


def test_orchestrator_batcher_and_catalogue_read_the_registry():
    from neurorad.extraction import PER_DISCRETISATION, family_function
    from neurorad.features.catalogue import FAMILY_TITLES
    from neurorad.features.texture_batch import TEXTURE_FAMILIES

    assert TEXTURE_FAMILIES == ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
    assert PER_DISCRETISATION == ("histogram", *TEXTURE_FAMILIES)
    assert list(FAMILY_TITLES) == list(FAMILIES)
    from neurorad.features.glcm import glcm_features
    assert family_function("glcm") is glcm_features
