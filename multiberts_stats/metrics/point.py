"""Point metrics: small pure functions on one run's per-example arrays.

These are the definitions every other part of the package agrees with: the registry
(:data:`multiberts_stats.metrics.METRICS`) names them, and the vectorised forms
(:mod:`multiberts_stats.metrics.vectorised`) reproduce them exactly on the full data and on
every bootstrap replicate.

Every function takes 1-D arrays of shape ``(n_examples,)`` and returns a Python ``float``.
Classification labels and predictions are class indices (any integer-valued numbers);
``f1`` treats class ``1`` as the positive class. numpy only: importing this module is cheap.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "accuracy", "binary_f1", "error", "gender_code", "macro_f1", "matthews_corrcoef", "mean",
    "pearson", "positive_label", "spearman", "winogender_bias", "winogender_bias_r",
    "winogender_bias_slope",
]


def _1d(name: str, x) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"The `{name}` argument must be a 1-D array of shape (n_examples,). "
                         f"Got shape {a.shape} instead.")
    return a


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = _1d("y_true", y_true), _1d("y_pred", y_pred)
    if t.shape != p.shape:
        raise ValueError(f"`y_true` and `y_pred` must have the same length. "
                         f"Got {t.shape[0]} and {p.shape[0]} instead.")
    if t.shape[0] == 0:
        raise ValueError("A metric needs at least one example. Got 0 instead.")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Share of examples whose prediction equals the label.

    Shapes: ``y_true`` (n,), ``y_pred`` (n,).
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def error(y_true, y_pred) -> float:
    """1 - accuracy. Shapes: ``y_true`` (n,), ``y_pred`` (n,)."""
    return 1.0 - accuracy(y_true, y_pred)


def mean(values) -> float:
    """Mean of a per-example score (e.g. SQuAD exact match or F1 per question). Shape (n,)."""
    v = _1d("values", values).astype(float)
    if v.shape[0] == 0:
        raise ValueError("A metric needs at least one example. Got 0 instead.")
    return float(np.mean(v))


def _f1_from_counts(tp: float, fp: float, fn: float) -> float:
    denom = 2 * tp + fp + fn
    return float(2 * tp / denom) if denom > 0 else 0.0


def _values_of(a: np.ndarray) -> list:
    try:
        return np.unique(a).tolist()
    except TypeError:  # mixed types
        return sorted(set(a.tolist()), key=repr)


def positive_label(y_true, y_pred, pos_label=None, *, metric: str = "f1",
                   where: str = "") -> object:
    """The positive class of a binary metric, checked against the data.

    Without ``pos_label``, labels and predictions together must take at most two values (a
    prediction outside the label space is refused) and they must be {0, 1} (then 1 is
    positive); any other label set ('neg'/'pos', {0, 3}) needs ``pos_label``, which must then
    be one of the two classes found. An explicit ``pos_label`` on multi-class data means
    one-vs-rest F1 of that class. Errors name the labels found.

    Examples
    --------
    >>> positive_label([0, 1, 1], [1, 1, 0])
    1
    >>> positive_label(["neg", "pos"], ["pos", "pos"], "pos")
    'pos'
    >>> positive_label(["neg", "pos"], ["pos", "pos"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: The metric 'f1' needs to know the positive class: the labels found are ['neg', ...
    """
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    labels, preds = _values_of(t), _values_of(p)
    classes = list(dict.fromkeys(labels + preds))
    at = f" {where}" if where else ""
    if pos_label is not None and len(classes) > 2:
        return pos_label  # an explicit class of a multi-class task: one-vs-rest F1
    if len(classes) > 2:
        outside = [v for v in preds if v not in set(labels)]
        raise ValueError(
            f"The metric {metric!r} is binary: labels and predictions{at} must take at most two "
            f"values. Got labels {labels[:10]} and predictions {preds[:10]}"
            + (f" (predictions outside the labels: {outside[:10]})" if outside else "") + ".")
    if pos_label is None:
        numeric = all(isinstance(v, (bool, int, float, np.number)) for v in classes)
        if numeric and all(v in (0, 1) for v in classes):
            return 1
        raise ValueError(
            f"The metric {metric!r} needs to know the positive class: the labels found{at} are "
            f"{labels[:10]} (and the predictions {preds[:10]}). Pass pos_label= (one of the "
            "labels).")
    if len(classes) == 2 and pos_label not in classes:
        raise ValueError(f"The `pos_label` {pos_label!r} of metric {metric!r} is not one of the "
                         f"classes found{at}: {classes}.")
    return pos_label


def binary_f1(y_true, y_pred, pos_label=None) -> float:
    """F1 of the positive class (MRPC, QQP convention: class 1); 0.0 when there is no positive
    label or prediction.

    ``pos_label`` names the positive class; by default the classes must be {0, 1} (see
    :func:`positive_label`: 'neg'/'pos' or {0, 3} need it, a third value is refused).
    Shapes: ``y_true`` (n,), ``y_pred`` (n,).
    """
    t, p = _pair(y_true, y_pred)
    pos = positive_label(t, p, pos_label)
    tp = np.sum((t == pos) & (p == pos))
    fp = np.sum((t != pos) & (p == pos))
    fn = np.sum((t == pos) & (p != pos))
    return _f1_from_counts(tp, fp, fn)


def macro_f1(y_true, y_pred) -> float:
    """Unweighted mean over the classes present in ``y_true`` or ``y_pred`` of per-class F1.

    Matches ``sklearn.metrics.f1_score(average="macro")``. Shapes: (n,), (n,).
    """
    t, p = _pair(y_true, y_pred)
    classes = np.union1d(t, p)
    return float(np.mean([
        _f1_from_counts(np.sum((t == c) & (p == c)), np.sum((t != c) & (p == c)),
                        np.sum((t == c) & (p != c)))
        for c in classes
    ]))


def matthews_corrcoef(y_true, y_pred) -> float:
    """Matthews correlation (multi-class R_K form, as scikit-learn); 0.0 when undefined.

    Shapes: ``y_true`` (n,), ``y_pred`` (n,).
    """
    t, p = _pair(y_true, y_pred)
    classes, inv = np.unique(np.concatenate([t, p]), return_inverse=True)
    k = len(classes)
    ti, pi = inv[: len(t)], inv[len(t):]
    cm = np.zeros((k, k))
    np.add.at(cm, (ti, pi), 1)
    n = cm.sum()
    t_sum, p_sum, correct = cm.sum(axis=1), cm.sum(axis=0), np.trace(cm)
    cov_ytyp = correct * n - t_sum @ p_sum
    cov_ypyp = n * n - p_sum @ p_sum
    cov_ytyt = n * n - t_sum @ t_sum
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp))


def _weighted_pearson_and_slope(x, y, w=None) -> tuple[float, float]:
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.ones_like(x) if w is None else np.asarray(w, float)
    sw = w.sum()
    mx, my = (w @ x) / sw, (w @ y) / sw
    dx, dy = x - mx, y - my
    sxx, syy, sxy = w @ (dx * dx), w @ (dy * dy), w @ (dx * dy)
    r = sxy / np.sqrt(sxx * syy) if sxx > 0 and syy > 0 else np.nan
    slope = sxy / sxx if sxx > 0 else np.nan
    return float(r), float(slope)


def pearson(y_true, y_pred) -> float:
    """Pearson correlation between labels and predictions (STS-B); NaN if either is constant.

    Shapes: (n,), (n,).
    """
    t, p = _pair(y_true, y_pred)
    return _weighted_pearson_and_slope(p, t)[0]


def spearman(y_true, y_pred) -> float:
    """Spearman rank correlation (average ranks for ties), as ``scipy.stats.spearmanr``.

    Does not decompose into per-example sums: the bootstrap takes its general path.
    Shapes: (n,), (n,).
    """
    t, p = _pair(y_true, y_pred)
    from scipy.stats import rankdata

    return _weighted_pearson_and_slope(rankdata(p), rankdata(t))[0]


def gender_code(gender) -> np.ndarray:
    """Map gender labels to +1 (feminine), -1 (masculine), 0 (neutral / unknown)."""
    g = np.char.lower(np.asarray(gender).astype(str))
    code = np.zeros(g.shape, dtype=float)
    code[np.char.startswith(g, "f")] = 1.0
    code[np.char.startswith(g, "m")] = -1.0
    return code


def winogender_bias(predictions, gender, occupation, bls_pct_female) -> dict:
    """Per-occupation bias and its Pearson r and slope against ``bls_pct_female / 100``.

    The MultiBERTs bias measure (Sellam et al., 2022, following Webster et al., 2020): for each
    occupation, the share of FEMININE sentences resolved to the occupation minus the share of
    MASCULINE sentences resolved to it. A prediction of ``0`` means "resolved to the occupation"
    (``1`` = the other participant).

    Parameters
    ----------
    predictions : array, shape (n_sentences,)
        0 = occupation, 1 = other participant.
    gender : array of str, shape (n_sentences,)
        ``FEMININE`` / ``MASCULINE`` / ``UNKNOWN`` (or ``female`` / ``male`` / ``neutral``;
        only the first letter, ``f`` or ``m``, is read; anything else is ignored).
    occupation : array, shape (n_sentences,)
        The occupation of each sentence: the resampling cluster.
    bls_pct_female : array, shape (n_sentences,)
        Percentage of women in the occupation (U.S. Bureau of Labor Statistics), repeated on
        every sentence of that occupation.

    Returns
    -------
    dict with ``occupations`` (sorted), ``bias`` (per occupation), ``r`` and ``slope``.
    """
    pred = _1d("predictions", predictions).astype(float)
    g = gender_code(_1d("gender", gender))
    occ = _1d("occupation", occupation)
    bls = _1d("bls_pct_female", bls_pct_female).astype(float)
    if not (len(pred) == len(g) == len(occ) == len(bls)):
        raise ValueError("`predictions`, `gender`, `occupation` and `bls_pct_female` must have the "
                         f"same length. Got {len(pred)}, {len(g)}, {len(occ)} and {len(bls)}.")
    occs, inv = np.unique(occ, return_inverse=True)
    resolved_to_occ = (pred == 0).astype(float)
    k = len(occs)
    n_f = np.bincount(inv, weights=(g == 1), minlength=k)
    n_m = np.bincount(inv, weights=(g == -1), minlength=k)
    f_occ = np.bincount(inv, weights=(g == 1) * resolved_to_occ, minlength=k)
    m_occ = np.bincount(inv, weights=(g == -1) * resolved_to_occ, minlength=k)
    if np.any(n_f == 0) or np.any(n_m == 0):
        bad = occs[(n_f == 0) | (n_m == 0)]
        raise ValueError("Every occupation needs at least one feminine and one masculine sentence. "
                         f"Got none for: {', '.join(map(str, bad[:5]))}.")
    bias = f_occ / n_f - m_occ / n_m
    occ_bls = np.bincount(inv, weights=bls, minlength=k) / np.bincount(inv, minlength=k)
    r, slope = _weighted_pearson_and_slope(occ_bls / 100.0, bias)
    return {"occupations": occs, "bias": bias, "r": r, "slope": slope}


def winogender_bias_r(predictions, gender, occupation, bls_pct_female) -> float:
    """Pearson r of per-occupation bias against ``bls_pct_female/100``. See :func:`winogender_bias`."""
    return winogender_bias(predictions, gender, occupation, bls_pct_female)["r"]


def winogender_bias_slope(predictions, gender, occupation, bls_pct_female) -> float:
    """Regression slope of per-occupation bias on ``bls_pct_female/100``. See :func:`winogender_bias`."""
    return winogender_bias(predictions, gender, occupation, bls_pct_female)["slope"]
