"""The analysis steps of the four study notebooks, one module per study.

``common`` holds what all four share (checked manifest, settings at the chosen grey levels,
cached extraction, the model table, label permutation, table export); ``nf2``, ``pet``,
``dai`` and ``glioma`` hold each study's analysis. Notebooks only call these functions and
show their results, so the logic is tested here, not in the notebooks.
"""
