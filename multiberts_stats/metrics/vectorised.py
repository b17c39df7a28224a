"""Vectorised metrics: sufficient statistics per resampling unit, finished per replicate.

A decomposable metric is a function of sums over examples. For every run we build a matrix of
per-unit statistics ``X`` (``n_units x k``; a unit is an example, or a cluster of examples whose
statistics are summed); a bootstrap replicate is a vector of resampling counts ``c``
(``n_units``), and ``c @ X`` gives the replicate's sums, from which :meth:`VecMetric.finish`
computes the metric. One matrix product scores every run of every replicate of a batch.

Every metric here equals its point definition in :mod:`multiberts_stats.metrics.point` on the
full data and on every replicate (``tests/test_bootstrap_metrics.py`` checks this on the same
draws). The registry :data:`multiberts_stats.metrics.METRICS` pairs each point definition with
its vectorised form here; there is no second registry.
"""

from __future__ import annotations

import numpy as np

from .point import gender_code

__all__ = ["VecMetric", "sum_by_unit", "Accuracy", "Error", "Mean", "BinaryF1", "MacroF1", "MCC",
           "Pearson", "WinogenderBias"]


def sum_by_unit(E: np.ndarray, unit_index: np.ndarray | None, n_units: int) -> np.ndarray:
    """Sum per-example rows of ``E`` (n_examples, ...) into units (n_units, ...)."""
    if unit_index is None:
        return E
    if E.dtype == bool:
        E = E.astype(np.int64)
    order = np.argsort(unit_index, kind="stable")
    sorted_idx = unit_index[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    out = np.zeros((n_units,) + E.shape[1:], dtype=float)
    out[sorted_idx[starts]] = np.add.reduceat(E[order], starts, axis=0)
    return out


class VecMetric:
    """Base class. Subclasses set ``name``, ``run_cols``, ``ex_cols`` and implement two methods.

    ``run_cols`` are the columns that vary per run (matrices ``(n_runs, n_examples)``);
    ``ex_cols`` are per-example columns shared by all runs of a side.
    """

    name = ""
    run_cols: tuple[str, ...] = ("prediction",)
    ex_cols: tuple[str, ...] = ("label",)
    needs_clusters: str | None = None  # an example column that must be the resampling unit

    def unit_stats(self, ex: dict, run: dict, unit_index, n_units) -> np.ndarray:
        """Return per-unit statistics, shape ``(n_units, n_runs, k)``."""
        raise NotImplementedError

    def finish(self, T: np.ndarray, n: np.ndarray) -> np.ndarray:
        """``T`` (batch, n_runs, k) weighted sums, ``n`` (batch,) examples drawn -> (batch, n_runs)."""
        raise NotImplementedError

    def __repr__(self):
        return f"<VecMetric {self.name}>"


def _as_float_stack(*cols) -> np.ndarray:
    """Stack per-example statistics on a last axis (booleans stay boolean: exact and compact)."""
    arrs = [np.asarray(c) for c in cols]
    if not all(a.dtype == bool for a in arrs):
        arrs = [a.astype(float) for a in arrs]
    return np.stack(arrs, axis=-1)


class Accuracy(VecMetric):
    name = "accuracy"

    def unit_stats(self, ex, run, unit_index, n_units):
        correct = (run["prediction"] == ex["label"][None, :]).T  # (n_ex, n_runs), bool
        return sum_by_unit(correct[..., None], unit_index, n_units)

    def finish(self, T, n):
        return T[..., 0] / n[:, None]


class Error(Accuracy):
    name = "error"

    def finish(self, T, n):
        return 1.0 - T[..., 0] / n[:, None]


class Mean(VecMetric):
    """Mean of a per-example score column (``score``, ``exact_match``, ``f1``)."""

    ex_cols = ()

    def __init__(self, name: str = "mean", column: str = "score"):
        self.name = name
        self.run_cols = (column,)

    def unit_stats(self, ex, run, unit_index, n_units):
        v = np.asarray(run[self.run_cols[0]], dtype=float).T
        return sum_by_unit(v[..., None], unit_index, n_units)

    def finish(self, T, n):
        return T[..., 0] / n[:, None]


def _f1(tp, fp, fn):
    denom = 2 * tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0), denom > 0


class BinaryF1(VecMetric):
    """F1 of the positive class ``pos_label`` (checked against the data by the caller, see
    :func:`multiberts_stats.metrics.point.positive_label`)."""

    name = "f1"

    def __init__(self, pos_label=1):
        self.pos_label = pos_label

    def unit_stats(self, ex, run, unit_index, n_units):
        t1 = (np.asarray(ex["label"]) == self.pos_label)[None, :]
        p1 = np.asarray(run["prediction"]) == self.pos_label
        E = _as_float_stack((t1 & p1).T, (~t1 & p1).T, (t1 & ~p1).T)
        return sum_by_unit(E, unit_index, n_units)

    def finish(self, T, n):
        return _f1(T[..., 0], T[..., 1], T[..., 2])[0]


def _classes(ex, run):
    return np.union1d(np.unique(ex["label"]), np.unique(run["prediction"]))


class MacroF1(VecMetric):
    name = "macro_f1"

    def unit_stats(self, ex, run, unit_index, n_units):
        t, p = ex["label"][None, :], run["prediction"]
        cols = []
        for c in _classes(ex, run):
            tc, pc = t == c, p == c
            cols += [(tc & pc).T, (~tc & pc).T, (tc & ~pc).T]
        return sum_by_unit(_as_float_stack(*cols), unit_index, n_units)

    def finish(self, T, n):
        K = T.shape[-1] // 3
        T = T.reshape(T.shape[:-1] + (K, 3))
        f, present = _f1(T[..., 0], T[..., 1], T[..., 2])
        return f.sum(-1) / present.sum(-1)


class MCC(VecMetric):
    """Matthews correlation from class totals of labels and predictions and the trace."""

    name = "mcc"

    def unit_stats(self, ex, run, unit_index, n_units):
        t, p = ex["label"][None, :], run["prediction"]
        classes = _classes(ex, run)
        n_runs = p.shape[0]
        cols = [(p == t).T]
        cols += [np.broadcast_to((t == c).T, (t.shape[1], n_runs)) for c in classes]
        cols += [(p == c).T for c in classes]
        return sum_by_unit(_as_float_stack(*cols), unit_index, n_units)

    def finish(self, T, n):
        K = (T.shape[-1] - 1) // 2
        correct, t_sum, p_sum = T[..., 0], T[..., 1:1 + K], T[..., 1 + K:]
        nn = t_sum.sum(-1)
        cov_ytyp = correct * nn - (t_sum * p_sum).sum(-1)
        cov_ypyp = nn * nn - (p_sum * p_sum).sum(-1)
        cov_ytyt = nn * nn - (t_sum * t_sum).sum(-1)
        den = cov_ytyt * cov_ypyp
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den == 0, 0.0, cov_ytyp / np.sqrt(np.where(den == 0, 1, den)))


def _corr_from_moments(T, want="r"):
    """T[..., :] = (w, sx, sy, sxx, syy, sxy) of (already centred) x, y."""
    w, sx, sy, sxx, syy, sxy = (T[..., i] for i in range(6))
    with np.errstate(divide="ignore", invalid="ignore"):
        cxx = sxx - sx * sx / w
        cyy = syy - sy * sy / w
        cxy = sxy - sx * sy / w
        # guard against rounding: a constant variable has exactly zero centred sums
        cxx = np.where(cxx < 1e-12 * np.maximum(sxx, 1e-300), 0.0, cxx)
        cyy = np.where(cyy < 1e-12 * np.maximum(syy, 1e-300), 0.0, cyy)
        if want == "r":
            ok = (cxx > 0) & (cyy > 0)
            return np.where(ok, cxy / np.sqrt(np.where(ok, cxx * cyy, 1.0)), np.nan)
        ok = cxx > 0
        return np.where(ok, cxy / np.where(ok, cxx, 1.0), np.nan)


class Pearson(VecMetric):
    """Pearson r of predictions and labels (STS-B) from centred moments."""

    name = "pearson"

    def unit_stats(self, ex, run, unit_index, n_units):
        t = np.asarray(ex["label"], float)
        p = np.asarray(run["prediction"], float)
        x = (p - p.mean(axis=1, keepdims=True)).T  # (n_ex, n_runs)
        y = np.broadcast_to((t - t.mean())[:, None], x.shape)
        one = np.ones_like(x)
        E = np.stack([one, x, y, x * x, y * y, x * y], axis=-1)
        return sum_by_unit(E, unit_index, n_units)

    def finish(self, T, n):
        return _corr_from_moments(T, "r")


class WinogenderBias(VecMetric):
    """Winogender bias r / slope; the unit of resampling is the occupation.

    Per occupation and run: bias = share of feminine sentences resolved to the occupation minus
    share of masculine ones (a within-occupation quantity, fixed once the occupation is drawn).
    A replicate is the count-weighted correlation (or slope) of bias on ``bls_pct_female/100``
    over the drawn occupations, a twice-drawn occupation counting twice.
    """

    run_cols = ("prediction",)
    ex_cols = ("gender", "occupation", "bls_pct_female")
    needs_clusters = "occupation"

    def __init__(self, which: str):
        self.which = which
        self.name = f"winogender_bias_{which}"

    def unit_stats(self, ex, run, unit_index, n_units):
        if unit_index is None:
            raise ValueError("winogender metrics need occupations as the resampling unit")
        g = gender_code(ex["gender"])
        pred = np.asarray(run["prediction"], float)
        to_occ = (pred == 0).astype(float).T  # (n_ex, n_runs)
        fem, mas = (g == 1).astype(float), (g == -1).astype(float)
        n_f = np.bincount(unit_index, weights=fem, minlength=n_units)
        n_m = np.bincount(unit_index, weights=mas, minlength=n_units)
        if np.any(n_f == 0) or np.any(n_m == 0):
            raise ValueError("Every occupation needs at least one feminine and one masculine "
                             "sentence for the Winogender bias.")
        f_occ = sum_by_unit(to_occ * fem[:, None], unit_index, n_units)
        m_occ = sum_by_unit(to_occ * mas[:, None], unit_index, n_units)
        bias = f_occ / n_f[:, None] - m_occ / n_m[:, None]  # (n_units, n_runs)
        bls = np.asarray(ex["bls_pct_female"], float)
        x = (np.bincount(unit_index, weights=bls, minlength=n_units)
             / np.bincount(unit_index, minlength=n_units)) / 100.0
        x = np.broadcast_to((x - x.mean())[:, None], bias.shape)
        y = bias - bias.mean(axis=0, keepdims=True)
        return np.stack([np.ones_like(y), x, y, x * x, y * y, x * y], axis=-1)

    def finish(self, T, n):
        return _corr_from_moments(T, "r" if self.which == "r" else "slope")
