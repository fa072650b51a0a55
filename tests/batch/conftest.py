from __future__ import annotations

import pytest

import neurorad


@pytest.fixture
def settings():
    """Real, validated settings: the runner only uses their id and dict here (the test
    extractors ignore them)."""
    return neurorad.load_settings("ibsi-phantom")
