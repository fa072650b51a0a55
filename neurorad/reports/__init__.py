"""Reports: papermill runs of the study notebooks and everything that renders their results.

``run`` (``run_study``: inputs checked, notebook executed), ``render`` (self-contained HTML),
``index`` (the index page), ``methods`` (the methods paragraph), ``provenance``,
``format`` / ``layout`` / ``figures`` / ``summary`` / ``safe`` (how a report reads and what
it escapes) and ``cli`` (``run-study``, ``report``, ``run-all``). This layer only renders:
the analysis is in :mod:`neurorad.studies`. The submodules are imported on demand.
"""

__all__ = ["cli", "figures", "format", "index", "layout", "methods", "provenance", "render",
           "run", "safe", "summary"]
