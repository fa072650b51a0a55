"""The numbers the original studies published, as tables and look-ups.

The values themselves are data of the study registry (:data:`neurorad.studies.STUDIES`,
``Study.published``; typed from ``shared/studies.md``). The reproduction notebooks print
them next to their own estimates so a reader sees both in one table.
"""
from __future__ import annotations

import pandas as pd

from neurorad.studies import STUDIES, PublishedValue, get_study

#: Columns of :func:`published_table`.
COLUMNS = ["study", "task", "model", "metric", "class", "value", "ci_low", "ci_high", "source"]


def _values(study: str | None) -> list[PublishedValue]:
    if study is None:
        return [v for entry in STUDIES.values() for v in entry.published]
    return list(get_study(study).published)


def published_table(study: str | None = None) -> pd.DataFrame:
    """Published values as a tidy table.

    Parameters
    ----------
    study : str, optional
        A study of :data:`~neurorad.studies.STUDIES`; all studies when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``study, task, model, metric, class, value, ci_low, ci_high, source``.
        Empty (with those columns) for a study that published no metric (NF2).

    Examples
    --------
    >>> from neurorad.studies.published import published_table
    >>> first = published_table("pet").iloc[0]
    >>> first.model, first.metric, float(first.value), float(first.ci_low), float(first.ci_high)
    ('lasso', 'spearman_rho', 0.58, 0.43, 0.74)
    """
    return pd.DataFrame(
        [[v.study, v.task, v.model, v.metric, v.target_class, v.value, v.ci_low, v.ci_high,
          v.source] for v in _values(study)],
        columns=COLUMNS,
    )


def published_value(study: str, task: str, model: str, metric: str,
                    target_class: str = "") -> PublishedValue | None:
    """The first published value matching the keys (journal before slide), or None."""
    for v in _values(study):
        if (v.task, v.model, v.metric, v.target_class) == (task, model, metric, target_class):
            return v
    return None


def headline_published(study: str) -> PublishedValue | None:
    """The published number a study's headline metric is compared with (None for NF2)."""
    keys = get_study(study).headline
    if keys is None:
        return None
    return published_value(study, keys.task, keys.model, keys.metric, keys.target_class)
