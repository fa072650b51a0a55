"""The IBSI preprocessing chain of one ROI, one module per step.

``load`` (image + mask -> arrays, label checks), ``resample`` (IBSI grid alignment),
``resegment`` (range and outlier re-segmentation), ``discretise`` (FBN, FBS, equal
probability, many levels at once), ``guard`` (grey-level and memory limits),
``response_maps`` (IBSI-2 filter response maps of a ROI) and ``pipeline``
(:func:`neurorad.preprocess.pipeline.preprocess_roi`: the whole chain, the orchestrator's
entry). The submodules are imported on demand.
"""

__all__ = ["discretise", "guard", "load", "pipeline", "resample", "resegment", "response_maps"]
