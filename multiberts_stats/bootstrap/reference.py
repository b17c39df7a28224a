"""Drop-in replacements for the published MultiBERTs ``multibootstrap`` and ``report_ci``.

Same arguments, same return values, and — with ``rng`` an int or a ``RandomState`` — the same
random draws in the same order as the published library (google-research/language,
``language/multiberts/multibootstrap.py``), so a published analysis is reproduced to
floating-point precision. The difference is speed: draws are made in the published order, but
scoring is one matrix product per batch of replicates for the metrics the engine knows
(scikit-learn's ``accuracy_score``, ``f1_score``, ``matthews_corrcoef`` and the metric functions
of :mod:`multiberts_stats.metrics`); any other ``score_fn`` takes a general path with identical
semantics and draws.

Deliberate differences from the published code: common seeds of a paired design are taken in
sorted order (the published code used Python set order, which is not reproducible across
processes); seeds present on one side only are dropped with a ``UserWarning`` (printed too when
``verbose``); bad input raises a clear error instead of an ``AssertionError``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..errors import DataWarning, DroppedSamplesWarning
from .checks import (BootstrapInputError, BootstrapTypeError, check_finite, check_level,
                          check_nboot, check_threshold)
from .engine import Side, Units, counts_dtype, counts_from_draws, default_batch, stacked_run_scores
from ..metrics import metric_for_callable, positive_label

__all__ = ["multibootstrap", "report_ci"]

_FN = "multibootstrap"


def _side_seed_rows(run_info, mask_value: bool):
    """{seed: row indices} for one side, rows in their original order."""
    inter = run_info["intervention"].to_numpy()
    rows = np.flatnonzero(inter == mask_value)
    seeds = run_info["seed"].to_numpy()[rows].tolist()
    groups: dict = {}
    for r, s in zip(rows, seeds):
        groups.setdefault(s, []).append(r)
    return {s: np.asarray(v) for s, v in groups.items()}


def _sorted_seeds(keys, side: str):
    try:
        return sorted(keys)
    except TypeError as e:
        raise BootstrapInputError(
            f"The `seed` column of `run_info` in {_FN} must hold mutually comparable values "
            f"(they are sorted, as in the published library). Got {sorted(map(repr, keys))[:5]} "
            f"on the {side} side: {e}.") from None


def _check_inputs(run_info, preds, labels):
    try:
        cols = list(run_info.columns)
    except AttributeError:
        raise BootstrapTypeError(
            f"The `run_info` parameter of {_FN} must be a pandas DataFrame with columns 'seed' and "
            f"'intervention'. Got {type(run_info).__name__} instead.") from None
    missing = [c for c in ("seed", "intervention") if c not in cols]
    if missing:
        raise BootstrapInputError(
            f"The `run_info` parameter of {_FN} must have columns 'seed' and 'intervention'. "
            f"Missing {missing}; got columns {cols}.")
    preds = np.asarray(preds)
    if preds.ndim != 2:
        raise BootstrapInputError(
            f"The `preds` parameter of {_FN} must be a 2-D array (runs x examples). "
            f"Got shape {preds.shape} instead.")
    if preds.shape[0] != len(run_info):
        raise BootstrapInputError(
            f"The `preds` parameter of {_FN} must have one row per row of `run_info`. "
            f"Got {preds.shape[0]} rows of preds and {len(run_info)} rows of run_info.")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != preds.shape[1]:
        raise BootstrapInputError(
            f"The `labels` parameter of {_FN} must be 1-D with one entry per column of `preds`. "
            f"Got labels of shape {labels.shape} and preds with {preds.shape[1]} columns.")
    if preds.shape[1] == 0:
        raise BootstrapInputError(f"The `preds` parameter of {_FN} must have at least one example "
                                  "column. Got 0 instead.")
    check_finite(preds, "preds", _FN)
    check_finite(labels, "labels", _FN)
    inter = run_info["intervention"].to_numpy()
    if inter.dtype != bool:
        vals = set(np.unique(inter.astype(object)).tolist())
        if not vals <= {True, False, 0, 1}:
            raise BootstrapInputError(
                f"The 'intervention' column of `run_info` in {_FN} must be boolean (False = base, "
                f"True = experiment). Got values {sorted(map(repr, vals))[:5]}.")
    return run_info.reset_index(drop=True).assign(intervention=inter.astype(bool)), preds, labels


def _score_fn(score_fn):
    """A callable as it is; a metric name from the registry (reading labels and predictions)
    becomes its point function; anything else is a clear error."""
    if isinstance(score_fn, str):
        from ..metrics import METRICS

        names = sorted(n for n, m in METRICS.items() if m.columns == ("label", "prediction"))
        if score_fn in METRICS and METRICS[score_fn].columns == ("label", "prediction"):
            return METRICS[score_fn].fn
        raise BootstrapInputError(
            f"The `score_fn` parameter of {_FN} must be a callable(y_true, y_pred) -> float or "
            f"the name of a metric of labels and predictions ({names}). Got {score_fn!r}.")
    if not callable(score_fn):
        raise BootstrapTypeError(
            f"The `score_fn` parameter of {_FN} must be a callable(y_true, y_pred) -> float or a "
            f"metric name. Got {type(score_fn).__name__} instead.")
    return score_fn


def _is_binary(*arrays) -> bool:
    for a in arrays:
        u = np.unique(a)
        try:
            if not np.isin(u, [0, 1]).all():
                return False
        except TypeError:
            return False
    return True


def multibootstrap(run_info, preds, labels, score_fn, paired_seeds=False, sample_seeds=True,
                   sample_examples=True, nboot=500, rng=np.random, verbose=True,
                   progress_indicator=lambda x: x, *, batch=None):
    """Multi-Bootstrap samples of ``score_fn`` over pretraining seeds and examples.

    Reference-compatible: same signature, return value and random draws as the published
    MultiBERTs ``multibootstrap`` (with common seeds in sorted order).

    Parameters
    ----------
    run_info : pandas.DataFrame
        Columns ``seed`` (any hashable, mutually comparable) and ``intervention`` (bool; False =
        base, True = experiment), one row per row of ``preds``; other columns are ignored. Rows
        sharing (seed, intervention) are averaged inside the seed, then seeds are averaged.
    preds : array, shape (n_runs, n_examples)
        Predictions of each run.
    labels : array, shape (n_examples,)
        Target labels aligned with the columns of ``preds``.
    score_fn : callable ``(y_true, y_pred) -> float``, or a metric name (e.g. ``"accuracy"``)
        scikit-learn's ``accuracy_score``, ``f1_score`` (binary data), ``matthews_corrcoef`` and
        the functions of :mod:`multiberts_stats.metrics` take the vectorised path; anything else
        is called on every run of every replicate (same semantics, same draws).
    paired_seeds : bool
        One seed draw shared by both sides (common seeds, sorted); seeds on one side only are
        dropped with a warning. Otherwise each side draws its own seeds (examples stay shared).
    sample_seeds, sample_examples : bool
        Resample that axis (otherwise it is used as it is).
    nboot : int
        Number of replicates.
    rng : int, numpy RandomState, numpy Generator or the ``numpy.random`` module
        An int seeds ``np.random.RandomState(rng)``. The default, ``np.random``, draws from
        NumPy's global state exactly as the published library does (the one place in this
        package where global random state is used).
    verbose : bool
        Print what is being compared.
    progress_indicator : callable
        Wraps the replicate loop, e.g. ``tqdm.tqdm``.
    batch : int, optional
        Replicates scored per matrix product (bounds memory; does not change any number).

    Returns
    -------
    list of ``nboot`` tuples ``(base, expt)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.metrics import accuracy_score
    >>> from multiberts_stats import multibootstrap, report_ci
    >>> run_info = pd.DataFrame({"seed": [0, 1, 0, 1], "intervention": [False, False, True, True]})
    >>> labels = np.array([0, 1, 1, 0, 1])
    >>> preds = np.array([[0, 1, 0, 0, 1], [0, 1, 1, 1, 1], [0, 1, 1, 0, 1], [0, 1, 1, 0, 0]])
    >>> samples = multibootstrap(run_info, preds, labels, accuracy_score, paired_seeds=True,
    ...                          nboot=200, rng=0, verbose=False)
    >>> len(samples), len(samples[0])
    (200, 2)
    >>> stats = report_ci(samples, verbose=False)
    >>> sorted(stats)
    ['base', 'delta', 'expt']
    """
    nboot = check_nboot(nboot, _FN)
    score_fn = _score_fn(score_fn)
    run_info, preds, labels = _check_inputs(run_info, preds, labels)
    num_examples = labels.shape[0]
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        rng = np.random.RandomState(int(rng))
    elif rng is None:
        rng = np.random
    if not hasattr(rng, "choice"):
        raise BootstrapTypeError(
            f"The `rng` parameter of {_FN} must be an int, a numpy RandomState or Generator, or the "
            f"numpy.random module. Got {type(rng).__name__} instead.")
    if batch is not None and (not isinstance(batch, numbers.Integral) or batch < 1):
        raise BootstrapInputError(f"The `batch` parameter of {_FN} must be a positive integer or "
                                  f"None. Got {batch!r} instead.")

    base_rows = _side_seed_rows(run_info, False)
    expt_rows = _side_seed_rows(run_info, True)
    for side, rows in (("base (intervention == False)", base_rows),
                       ("expt (intervention == True)", expt_rows)):
        if not rows:
            raise BootstrapInputError(
                f"The `run_info` parameter of {_FN} must have at least one run on each side. "
                f"Got no rows on the {side} side.")
    n_base_runs = sum(len(v) for v in base_rows.values())
    n_expt_runs = sum(len(v) for v in expt_rows.values())

    if paired_seeds:
        common = _sorted_seeds(set(base_rows) & set(expt_rows), "common")
        if not common:
            raise BootstrapInputError(
                f"The `paired_seeds=True` design of {_FN} needs seeds present on both sides. Got "
                f"base seeds {_sorted_seeds(base_rows, 'base')[:10]} and expt seeds "
                f"{_sorted_seeds(expt_rows, 'expt')[:10]}, none in common.")
        base_only = _sorted_seeds(set(base_rows) - set(common), "base")
        expt_only = _sorted_seeds(set(expt_rows) - set(common), "expt")
        if verbose:
            print(f"Multibootstrap (paired) on {num_examples} examples")
            print(f"  Common seeds ({len(common)}): {common}")
            print(f"  Base: {n_base_runs} runs")
            print(f"  Expt: {n_expt_runs} runs")
        for where, only in (("base", base_only), ("expt", expt_only)):
            if only:
                msg = (f"{len(only)} seed(s) found on the {where} side only are omitted from the "
                       f"paired analysis: {only}")
                if verbose:
                    print(f"  Warning: {msg}")
                warnings.warn(msg, DataWarning, stacklevel=2)
        base_seeds = expt_seeds = common
    else:
        base_seeds = _sorted_seeds(base_rows, "base")
        expt_seeds = _sorted_seeds(expt_rows, "expt")
        if verbose:
            print(f"Multibootstrap (unpaired) on {num_examples} examples")
            print(f"  Base seeds ({len(base_seeds)}): {base_seeds}")
            print(f"  Base: {n_base_runs} runs")
            print(f"  Expt seeds ({len(expt_seeds)}): {expt_seeds}")
            print(f"  Expt: {n_expt_runs} runs")

    # Sides restricted to the runs of the seeds in use; runs of seed s in original row order.
    match = metric_for_callable(score_fn)
    vm = None if match is None else match.metric.vectorised
    if match is not None and match.binary_only and not _is_binary(labels, preds):
        vm = None  # sklearn's binary f1_score on non-binary data: let sklearn speak
    elif match is not None and match.metric.binary and vm is not None:
        try:  # our binary F1: the positive class must be known from the data ({0, 1})
            positive_label(labels, preds, metric=match.metric.name, where="of `labels`/`preds`")
        except ValueError as e:
            raise BootstrapInputError(f"{e} (score_fn of {_FN}; pass a callable with the "
                                      "positive class fixed, e.g. functools.partial(binary_f1, "
                                      "pos_label=...))") from None
    units = Units(num_examples)
    sides = []
    for name, seeds, rows_by_seed in (("base", base_seeds, base_rows),
                                      ("expt", expt_seeds, expt_rows)):
        rows = np.concatenate([rows_by_seed[s] for s in seeds])
        run_seed = np.concatenate([np.full(len(rows_by_seed[s]), i) for i, s in enumerate(seeds)])
        if vm is not None:
            side = Side.build(name, seeds, run_seed, units, metric=vm,
                              ex={"label": labels}, run={"prediction": preds[rows]})
        else:
            side = Side.build(name, seeds, run_seed, units, fn=score_fn, y_true=labels,
                              preds=preds[rows])
        sides.append(side)
    base, expt = sides

    if batch is None:
        batch = default_batch(num_examples, base.n_cols + expt.n_cols, nboot)
    out = np.empty((nboot, 2))
    nb, ne = len(base_seeds), len(expt_seeds)
    buf_b = np.empty((batch, nb), dtype=np.int64)
    buf_e = np.empty((batch, ne), dtype=np.int64)
    buf_x = np.empty((batch, num_examples), dtype=np.int64)
    filled = start = 0
    stack: dict = {}
    for _ in progress_indicator(range(nboot)):
        if sample_seeds:
            buf_b[filled] = rng.choice(nb, size=nb, replace=True)
            buf_e[filled] = buf_b[filled] if paired_seeds else rng.choice(ne, size=ne, replace=True)
        if sample_examples:
            buf_x[filled] = rng.choice(num_examples, size=num_examples, replace=True)
        filled += 1
        if filled == batch or start + filled == nboot:
            _score_batch(out[start:start + filled], base, expt, buf_b[:filled], buf_e[:filled],
                         buf_x[:filled], sample_seeds, sample_examples, units, stack)
            start += filled
            filled = 0
    return [(out[i, 0], out[i, 1]) for i in range(nboot)]


def _exact_seed_means(run_scores: np.ndarray, side: Side) -> np.ndarray:
    """(b, n_runs) -> (b, n_seeds): np.mean over each seed's runs, in row order."""
    cols = [run_scores[:, rows].mean(axis=1) for rows in side.seed_rows]
    return np.ascontiguousarray(np.stack(cols, axis=1))


def _score_batch(out, base, expt, draws_b, draws_e, draws_x, sample_seeds, sample_examples, units,
                 stack):
    b = out.shape[0]
    if sample_examples:
        if base.metric is not None:
            counts = counts_from_draws(draws_x, units.n_units, counts_dtype((base, expt)))
            n = np.full(b, float(units.n_examples))
            rs = stacked_run_scores([base, expt], counts, n, stack)
        else:
            ex_draws = list(draws_x)
            rs = [side.run_scores(None, None, example_draws=ex_draws) for side in (base, expt)]
    else:
        rs = [np.broadcast_to(side.run_scores(None, None), (b, side.n_runs)) for side in (base, expt)]
    for col, side, run_scores, draws in ((0, base, rs[0], draws_b), (1, expt, rs[1], draws_e)):
        seed_means = _exact_seed_means(np.ascontiguousarray(run_scores), side)
        if sample_seeds:
            picked = np.take_along_axis(seed_means, draws, axis=1)
            out[:, col] = picked.mean(axis=1)
        else:
            out[:, col] = seed_means.mean(axis=1)


def report_ci(samples, c=0.95, abs_threshold=None, rel_threshold=None,
              expect_negative_effect=False, *, verbose=True):
    """Confidence intervals, p-value and threshold probabilities from bootstrap samples.

    Reference-compatible with the published ``report_ci``: prints the statistics (silence with
    ``verbose=False``) and returns them as a dict.

    Parameters
    ----------
    samples : sequence of (base, expt) pairs, shape (nboot, 2)
        As returned by :func:`multibootstrap`.
    c : float
        Confidence level in (0, 1); bounds are ``np.quantile`` at ``(1-c)/2`` and ``1-(1-c)/2``.
    abs_threshold : float, optional
        Also report P(delta >= abs_threshold) (P(delta <= -abs_threshold) with
        ``expect_negative_effect``).
    rel_threshold : float, optional
        Also report P(delta / base >= rel_threshold) (<= -rel_threshold with
        ``expect_negative_effect``). Applied when truthy, as in the published code.
    expect_negative_effect : bool
        The p-value is the share of deltas >= 0 instead of <= 0.

    Returns
    -------
    dict
        ``{'base': {mean, low, high}, 'expt': {mean, low, high}, 'delta': {mean, low, high, p}}``;
        means are means of the bootstrap samples, ``p`` is floored at ``1/nboot`` (the
        published definition; :func:`multiboot` uses ``(1 + k) / (nboot + 1)``). Samples with a
        NaN (an undefined metric) are dropped with a ``DroppedSamplesWarning`` that says how
        many. When given,
        the threshold probabilities are added as ``ret['delta']['p_abs_threshold']`` and
        ``ret['delta']['p_rel_threshold']``.

    Examples
    --------
    >>> from multiberts_stats import report_ci
    >>> ret = report_ci([(0.70, 0.72), (0.71, 0.74), (0.69, 0.70), (0.70, 0.73)], verbose=False)
    >>> round(float(ret['delta']['mean']), 4), float(ret['delta']['p'])
    (0.0225, 0.25)
    """
    fn = "report_ci"
    c = check_level(c, "c", fn)
    abs_threshold = check_threshold(abs_threshold, "abs_threshold", fn)
    if rel_threshold is not None:
        rel_threshold = check_threshold(rel_threshold, "rel_threshold", fn)
    arr = np.asarray(samples, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise BootstrapInputError(
            f"The `samples` parameter of {fn} must be a non-empty sequence of (base, expt) pairs. "
            f"Got an array of shape {arr.shape} instead.")
    bad = np.isnan(arr).any(axis=1)
    if bad.all():
        raise BootstrapInputError(
            f"The `samples` parameter of {fn} must hold defined values: every sample is NaN "
            f"({len(arr)} of {len(arr)}; the metric was undefined on every replicate).")
    if bad.any():
        warnings.warn(f"{fn} dropped {int(bad.sum())} of {len(arr)} samples with a NaN base or "
                      f"expt value (the metric was undefined on those replicates); the "
                      f"statistics use the remaining {int((~bad).sum())}.",
                      DroppedSamplesWarning, stacklevel=2)
        arr = arr[~bad]
    q = [(1 - c) / 2, 1 - (1 - c) / 2]
    base, expt = np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1])
    say = print if verbose else (lambda *a, **k: None)
    ret = {}
    say(f"Bootstrap statistics from {len(arr)} samples:")
    bu = base.mean()
    bmin, bmax = np.quantile(base, q)
    say(f"  E[L]  = {bu:.3g} with {c:.0%} CI of ({bmin:.3g} to {bmax:.3g})")
    ret["base"] = {"mean": bu, "low": bmin, "high": bmax}
    eu = expt.mean()
    emin, emax = np.quantile(expt, q)
    say(f"  E[L'] = {eu:.3g} with {c:.0%} CI of ({emin:.3g} to {emax:.3g})")
    ret["expt"] = {"mean": eu, "low": emin, "high": emax}
    deltas = expt - base
    u = np.mean(deltas)
    umin, umax = np.quantile(deltas, q)
    pval = np.mean(deltas >= 0) if expect_negative_effect else np.mean(deltas <= 0)
    if pval == 0:
        pval = 1.0 / len(arr)  # a p-value below 1/nboot cannot be estimated
    say(f"  E[L'-L] = {u:.3g} with {c:.0%} CI of ({umin:.3g} to {umax:.3g}); p-value = {pval:.3g}")
    ret["delta"] = {"mean": u, "low": umin, "high": umax, "p": pval}
    if rel_threshold:
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = deltas / base
        if expect_negative_effect:
            pt = np.mean(rel <= -rel_threshold)
            say(f"  P[(L'-L)/L <= {-rel_threshold:.3g}] = {pt:0.2f}")
        else:
            pt = np.mean(rel >= rel_threshold)
            say(f"  P[(L'-L)/L >= {rel_threshold:.3g}] = {pt:0.2f}")
        ret["delta"]["p_rel_threshold"] = pt
    if abs_threshold is not None:
        if expect_negative_effect:
            pt = np.mean(deltas <= -abs_threshold)
            say(f"  P[L' <= L - {abs_threshold:.3g}] = {pt:0.2f}")
        else:
            pt = np.mean(deltas >= abs_threshold)
            say(f"  P[L' >= L + {abs_threshold:.3g}] = {pt:0.2f}")
        ret["delta"]["p_abs_threshold"] = pt
    return ret
