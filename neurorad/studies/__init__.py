"""The studies: one registry entry per study, one module per study's analysis steps.

:data:`STUDIES` maps a study name to its :class:`Study` record (title, notebook). The
notebooks are jupytext percent scripts shipped inside the package
(``neurorad/notebooks/<notebook>.py``, see :mod:`neurorad.studies.notebooks`); they only
call the analysis functions of ``common`` (what all studies share: checked manifest,
settings at the chosen grey levels, cached extraction, the model table, table export),
``validation`` and the study's own module (``nf2``, ``pet``, ``dai``, ``glioma``), so the
logic is tested here, not in the notebooks.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurorad.errors import InputError


class UnknownStudyError(InputError):
    """A study name that is not in :data:`STUDIES`."""


@dataclass(frozen=True)
class Study:
    """One study of the registry.

    ``name`` is what the command line takes (``neurorad run-study NAME``), ``title`` heads
    its report and index card, ``notebook`` is the stem of its notebook source
    ``neurorad/notebooks/<notebook>.py`` (and of ``notebooks/<notebook>.ipynb``).
    """

    name: str
    title: str
    notebook: str


#: Study name -> Study, in the order reports and the index list them.
STUDIES: dict[str, Study] = {s.name: s for s in (
    Study("nf2", "NF2-associated schwannomatosis: radiogenomics", "01_nf2_radiogenomics"),
    Study("pet", "Glioblastoma: 11C-methionine PET uptake index", "02_pet_uptake_index"),
    Study("dai", "Diffuse axonal injury: diffusion kurtosis MRI", "03_dai_dki"),
    Study("glioma", "Glioma histological type: digital biopsy", "04_glioma_histology"),
)}


def get_study(name: str) -> Study:
    """The registry entry of ``name``; ``UnknownStudyError`` (a ``ValueError``) names the
    registered studies otherwise."""
    try:
        return STUDIES[name]
    except KeyError:
        raise UnknownStudyError(
            f"unknown study {name!r}; choose one of {', '.join(STUDIES)}") from None


__all__ = ["STUDIES", "Study", "UnknownStudyError", "get_study"]
