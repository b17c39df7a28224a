"""Multiple-comparison corrections of p-values: Holm, Benjamini-Hochberg, Bonferroni,
Benjamini-Yekutieli (numpy only; equal to ``statsmodels``' ``multipletests``, tested)."""

from __future__ import annotations

import numpy as np

from multiberts_stats.errors import InputError

__all__ = ["PVALUE_METHODS", "adjust_pvalues"]

#: accepted ``method`` names -> the correction they select
PVALUE_METHODS = {"holm": "holm", "bh": "bh", "fdr_bh": "bh", "bonferroni": "bonferroni",
                  "by": "by", "fdr_by": "by"}


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons.

    Parameters
    ----------
    p : array_like, shape (m,)
        Raw p-values in [0, 1] (NaN entries are kept as NaN and do not count as tests).
    method : {"holm", "bh", "bonferroni", "by"}
        ``"holm"`` controls the family-wise error rate (Holm's step-down); ``"bh"`` the false
        discovery rate (Benjamini-Hochberg step-up); ``"by"`` is Benjamini-Yekutieli (FDR under
        any dependence). ``"fdr_bh"`` and ``"fdr_by"`` are accepted as aliases.

    Returns
    -------
    ndarray, shape (m,)
        Adjusted p-values, equal to ``statsmodels.stats.multitest.multipletests(p,
        method=...)[1]``; reject where ``adjusted <= alpha``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in PVALUE_METHODS:
        raise InputError("The `method` parameter of adjust_pvalues must be one of "
                         f"{sorted(PVALUE_METHODS)}. Got {method!r} instead.")
    method = PVALUE_METHODS[method]
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 1:
        raise InputError("The `p` parameter of adjust_pvalues must be a 1-D array of p-values. "
                         f"Got shape {arr.shape} instead.")
    ok = ~np.isnan(arr)
    if np.any((arr[ok] < 0) | (arr[ok] > 1)):
        raise InputError("The `p` parameter of adjust_pvalues must hold p-values in [0, 1]. "
                         f"Got values from {arr[ok].min()} to {arr[ok].max()} instead.")
    out = np.full(arr.shape, np.nan)
    q = arr[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    s = q[order]
    if method == "bonferroni":
        adj = np.minimum(1.0, s * m)
    elif method == "holm":
        adj = np.minimum(1.0, np.maximum.accumulate(s * (m - np.arange(m))))
    else:
        c = 1.0 if method == "bh" else np.sum(1.0 / np.arange(1, m + 1))
        raw = s * m * c / np.arange(1, m + 1)
        adj = np.minimum(1.0, np.minimum.accumulate(raw[::-1])[::-1])
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out
