"""Scanner data -> images: PET SUV conversion (``pet_suv``), DKI parameter maps (``dki``) and
their command-line subcommands (``cli``: ``suv``, ``dki``, ``rt-masks``)."""
