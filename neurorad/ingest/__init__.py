"""Scanner data -> images: PET SUV conversion (``pet_suv``), DKI parameter maps (``dki``) and
their command-line subcommands (``cli``: ``suv``, ``dki``, ``rt-masks``).

The submodules are imported on demand (they pull in pydicom / dipy): use
``from neurorad.ingest.pet_suv import suv_image``, ``from neurorad.ingest.dki import fit_maps``.
"""

__all__ = ["cli", "dki", "pet_suv"]
