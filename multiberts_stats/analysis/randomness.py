"""Which randomness matters: between-seed variance in two families that vary one factor each.

The decoupled PolyPythia 160m variants vary one source of pretraining randomness at a time:
``pythia-160m-data-seed{1-3}`` only the order of the training data, ``pythia-160m-weight-seed{1-3}``
only the initialisation (the original ``pythia-160m`` is seed 0 of both). Given a score of every
seed of both families on the same evaluation examples, :func:`compare_randomness` estimates the
between-seed variance of the score in each family,

    v_f = variance over seeds s of family f of  score(s)         (ddof = 1),

their ratio ``v_a / v_b`` and two intervals for it:

* a bootstrap interval: each replicate draws the seeds of each family with replacement
  (independently) and the examples (or clusters) with replacement (one draw shared by both
  families, which are scored on the same examples), as the Multi-Bootstrap does;
* the F interval, ``ratio / F(1 - a/2; n_a - 1, n_b - 1)`` to ``ratio / F(a/2; ...)``, exact when
  the seed scores are normal.

The verdict says which factor contributes more when the chosen interval (``method``) excludes 1,
and "undetermined" otherwise. The default is the F interval: with 4 seeds per family the
percentile bootstrap of a variance ratio is far too conservative (simulated at 4 seeds, 500
examples: it never declared a difference under equal variances, but found a 64-fold ratio only
14% of the time, against 69% for the F rule with a 5% false-positive rate). The simulation is
``benchmarks/randomness_power.py``; its table is in ``docs/statistics.md``. A variance from 4
seeds has 3 degrees of freedom: expect "undetermined" unless one factor dominates.

numpy, pandas and scipy only: this module never imports torch.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> def family(name, spread):
...     rows = []
...     for s in range(4):
...         p = 0.7 + spread * rng.normal()
...         rows += [{"family": name, "pretrain_seed": s, "example_id": str(j), "label": 1,
...                   "prediction": int(rng.random() < p)} for j in range(400)]
...     return pd.DataFrame(rows)
>>> import warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")  # the few-seeds warning
...     rep = compare_randomness(family("data", 0.10), family("weight", 0.01), nboot=500,
...                              seed=0, labels=("data order", "initialisation"))
>>> rep.verdict, round(rep.ratio)
('data order contributes more', 16)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataWarning, FewSeedsWarning, InputError

__all__ = ["RandomnessReport", "compare_randomness", "seed_scores"]

_NEEDED = ("pretrain_seed", "example_id")


@dataclass
class RandomnessReport:
    """Result of :func:`compare_randomness`.

    Attributes
    ----------
    labels : (str, str)
        What family a and family b vary (e.g. ``("data order", "initialisation")``).
    metric : str
    variance_a, variance_b : float
        Between-seed variance of the metric in each family.
    ratio : float
        ``variance_a / variance_b``.
    ci : (float, float)
        Bootstrap percentile interval of the ratio (``inf`` when replicates with a zero
        variance in family b reach the upper tail).
    f_ci : (float, float)
        Interval from the F distribution with (n_a - 1, n_b - 1) degrees of freedom.
    p_value : float
        Two-sided bootstrap p-value of ratio = 1 (twice the smaller tail share).
    verdict : str
        ``"<label a> contributes more"``, ``"<label b> contributes more"`` or
        ``"undetermined"`` (the interval of ``method`` holds 1).
    method : str
        ``"f"`` or ``"bootstrap"``.
    scores : DataFrame
        The metric per family and seed.
    n_seeds : (int, int)
    n_units : int
        Resampled examples or clusters.
    nboot : int
    degenerate : int
        Replicates where both variances were 0 (left out of the interval).
    """

    labels: tuple
    metric: str
    variance_a: float
    variance_b: float
    ratio: float
    ci: tuple
    f_ci: tuple
    p_value: float
    verdict: str
    scores: pd.DataFrame = field(repr=False)
    n_seeds: tuple = (0, 0)
    n_units: int = 0
    nboot: int = 0
    alpha: float = 0.05
    method: str = "f"
    degenerate: int = 0
    distribution: np.ndarray = field(default=None, repr=False)

    def summary(self) -> str:
        """A few lines in plain words."""
        a, b = self.labels
        lo, hi = self.ci
        return (f"Between-seed variance of {self.metric}: {a} {self.variance_a:.3g} "
                f"({self.n_seeds[0]} seeds), {b} {self.variance_b:.3g} ({self.n_seeds[1]} "
                f"seeds); ratio {self.ratio:.3g}, {100 * (1 - self.alpha):.0f}% bootstrap "
                f"interval [{lo:.3g}, {hi:.3g}] (F interval [{self.f_ci[0]:.3g}, "
                f"{self.f_ci[1]:.3g}]), p = {self.p_value:.3g}: {self.verdict}.")

    def __str__(self) -> str:
        return self.summary()


def _values(table: pd.DataFrame, metric: str, where: str) -> pd.Series:
    if metric == "accuracy":
        for c in ("label", "prediction"):
            if c not in table.columns:
                raise InputError(f"The metric 'accuracy' of compare_randomness needs the column "
                                 f"{c!r}; {where} has {list(table.columns)}.")
        lab = pd.to_numeric(table["label"], errors="coerce")
        pred = pd.to_numeric(table["prediction"], errors="coerce")
        if lab.isna().any() or pred.isna().any():
            raise InputError(f"{where}: `label` and `prediction` must be numbers for 'accuracy'; "
                             f"{int(lab.isna().sum() + pred.isna().sum())} are missing.")
        return (lab == pred).astype(float)
    if metric in table.columns:
        vals = pd.to_numeric(table[metric], errors="coerce")
        if vals.isna().any():
            raise InputError(f"{where}: the column {metric!r} averaged as the score has "
                             f"{int(vals.isna().sum())} missing values.")
        return vals.astype(float)
    raise InputError(f"The `metric` parameter of compare_randomness must be 'accuracy' or a "
                     f"numeric column to average (e.g. 'score', a minimal pair's margin). Got "
                     f"{metric!r}, which {where} lacks; its columns are {list(table.columns)}.")


def _matrix(table, metric, where, unit):
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{where} must be a pandas DataFrame (a tidy predictions table). Got "
                         f"{type(table).__name__} instead.")
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise InputError(f"{where} lacks the column(s) {missing} of the tidy predictions table; "
                         f"it has {list(table.columns)}.")
    df = table.assign(_v=_values(table, metric, where).to_numpy())
    dup = df.duplicated(["pretrain_seed", "example_id"])
    if dup.any():
        raise InputError(
            f"{where} holds several rows per (pretrain_seed, example_id) ({int(dup.sum())} "
            "repeated), i.e. several runs per seed (fine-tuning seeds, layers, steps or tasks "
            "pooled). Select one run per seed first (e.g. one step, one layer).")
    mat = df.pivot(index="pretrain_seed", columns="example_id", values="_v")
    clusters = None
    if unit != "example":
        if unit not in df.columns:
            raise InputError(f"The `unit` parameter of compare_randomness names the column "
                             f"{unit!r}, which {where} lacks.")
        clusters = df.drop_duplicates("example_id").set_index("example_id")[unit].astype(str)
    return mat, clusters


def seed_scores(table: pd.DataFrame, metric: str = "accuracy") -> pd.Series:
    """The metric of each pretraining seed of a tidy table (one run per seed)."""
    mat, _ = _matrix(table, metric, "The `table`", "example")
    return mat.mean(axis=1)


def compare_randomness(table_a: pd.DataFrame, table_b: pd.DataFrame, *, metric: str = "accuracy",
                       labels=("data order", "initialisation"), unit: str = "example",
                       nboot: int = 2000, alpha: float = 0.05, method: str = "f",
                       seed=0) -> RandomnessReport:
    """Compare the between-seed variance of a score in two families (see the module docstring).

    Parameters
    ----------
    table_a, table_b : DataFrame
        Tidy predictions of each family, one run per pretraining seed (e.g. the 160m data-seed
        family and the weight-seed family at one step, one task), on the same examples.
    metric : str
        ``"accuracy"`` (``label == prediction``) or a numeric column to average per seed (e.g.
        ``"score"``, the log-likelihood margin of a minimal pair).
    labels : (str, str)
        What each family varies, for the verdict.
    unit : str
        ``"example"`` or a cluster column (e.g. ``"cluster"``: BLiMP paradigms) to resample.
    nboot : int
        Bootstrap replicates.
    alpha : float
        1 - the interval's coverage.
    method : {"f", "bootstrap"}
        Which interval decides the verdict (both are reported).
    seed : int or numpy Generator

    Returns
    -------
    RandomnessReport

    Raises
    ------
    InputError
        Missing columns, several runs per seed, fewer than 2 seeds in a family, or no common
        example.
    """
    from scipy import stats

    if isinstance(nboot, bool) or not isinstance(nboot, (int, np.integer)) or nboot < 1:
        raise InputError(f"The `nboot` parameter of compare_randomness must be a positive "
                         f"integer. Got {nboot!r} instead.")
    if not isinstance(alpha, (float, int)) or not 0 < alpha < 1:
        raise InputError(f"The `alpha` parameter of compare_randomness must be in (0, 1). Got "
                         f"{alpha!r} instead.")
    if method not in ("f", "bootstrap"):
        raise InputError("The `method` parameter of compare_randomness must be 'f' or "
                         f"'bootstrap'. Got {method!r} instead.")
    if not (isinstance(labels, (tuple, list)) and len(labels) == 2):
        raise InputError("The `labels` parameter of compare_randomness must be two strings. Got "
                         f"{labels!r} instead.")
    ma, ca = _matrix(table_a, metric, "The `table_a` of compare_randomness", unit)
    mb, cb = _matrix(table_b, metric, "The `table_b` of compare_randomness", unit)
    common = ma.columns.intersection(mb.columns)
    if len(common) == 0:
        raise InputError("The two tables of compare_randomness share no example_id; both "
                         "families must be scored on the same examples.")
    dropped = len(ma.columns) + len(mb.columns) - 2 * len(common)
    if dropped:
        warnings.warn(f"compare_randomness keeps the {len(common)} examples both families were "
                      f"scored on; {dropped} example rows present in only one table are left "
                      "out.", DataWarning, stacklevel=2)
    ma, mb = ma[common], mb[common]
    for m, name in ((ma, "table_a"), (mb, "table_b")):
        if m.isna().any().any():
            raise InputError(f"The `{name}` of compare_randomness lacks some (seed, example) "
                             "rows: every seed must be scored on the same examples.")
        if len(m) < 2:
            raise InputError(f"The `{name}` of compare_randomness must hold at least 2 "
                             f"pretraining seeds to estimate a between-seed variance. Got "
                             f"{len(m)} instead.")
    na, nb = len(ma), len(mb)
    if min(na, nb) < 5:
        warnings.warn(f"compare_randomness compares variances from {na} and {nb} seeds: with "
                      "so few degrees of freedom the interval is wide and the verdict is often "
                      "'undetermined' (docs/statistics.md gives its power).", FewSeedsWarning,
                      stacklevel=2)
    A, B = ma.to_numpy(float), mb.to_numpy(float)
    n = A.shape[1]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    if unit == "example":
        groups = np.arange(n)
        n_units = n
    else:
        lab = (ca if ca is not None else cb).reindex(common).astype(str).to_numpy()
        _, groups = np.unique(lab, return_inverse=True)
        n_units = int(groups.max()) + 1
    size = np.bincount(groups, minlength=n_units).astype(float)
    # per-unit sums: a replicate's score is (sums @ counts) / (size @ counts)
    SA = np.stack([np.bincount(groups, weights=row, minlength=n_units) for row in A])
    SB = np.stack([np.bincount(groups, weights=row, minlength=n_units) for row in B])
    va = float(np.var(A.mean(1), ddof=1))
    vb = float(np.var(B.mean(1), ddof=1))
    ratio = va / vb if vb > 0 else (np.inf if va > 0 else np.nan)

    counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=int(nboot))
    denom = counts @ size
    ia = rng.integers(0, na, size=(int(nboot), na))
    ib = rng.integers(0, nb, size=(int(nboot), nb))
    scores_a = (SA @ counts.T).T / denom[:, None]  # (nboot, na)
    scores_b = (SB @ counts.T).T / denom[:, None]
    rows = np.arange(int(nboot))[:, None]
    va_s = np.var(scores_a[rows, ia], axis=1, ddof=1)
    vb_s = np.var(scores_b[rows, ib], axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = va_s / vb_s
    bad = np.isnan(dist)
    if bad.any():
        warnings.warn(f"{int(bad.sum())} of {nboot} bootstrap replicates drew seeds with equal "
                      "scores in both families (both variances 0); they are left out of the "
                      "interval.", DataWarning, stacklevel=2)
    d = np.sort(dist[~bad])
    if len(d) == 0:
        lo = hi = p = np.nan
    else:
        lo = float(np.quantile(d, alpha / 2, method="inverted_cdf"))
        hi = float(np.quantile(d, 1 - alpha / 2, method="inverted_cdf"))
        p = float(min(1.0, 2 * min(np.mean(d <= 1), np.mean(d >= 1))))
    if np.isfinite(ratio) and ratio > 0:
        f_lo = ratio / stats.f.ppf(1 - alpha / 2, na - 1, nb - 1)
        f_hi = ratio / stats.f.ppf(alpha / 2, na - 1, nb - 1)
    else:
        f_lo, f_hi = (np.nan, np.nan) if not np.isfinite(ratio) else (0.0, 0.0)
    dlo, dhi = (f_lo, f_hi) if method == "f" else (lo, hi)
    if dlo > 1:
        verdict = f"{labels[0]} contributes more"
    elif dhi < 1:
        verdict = f"{labels[1]} contributes more"
    else:
        verdict = "undetermined"
    frame = pd.concat([pd.DataFrame({"family": labels[0], "pretrain_seed": ma.index,
                                     metric: A.mean(1)}),
                       pd.DataFrame({"family": labels[1], "pretrain_seed": mb.index,
                                     metric: B.mean(1)})], ignore_index=True)
    return RandomnessReport(labels=tuple(labels), metric=metric, variance_a=va, variance_b=vb,
                            ratio=float(ratio), ci=(lo, hi), f_ci=(float(f_lo), float(f_hi)),
                            p_value=p, verdict=verdict, scores=frame, n_seeds=(na, nb),
                            n_units=n_units, nboot=int(nboot), alpha=float(alpha), method=method,
                            degenerate=int(bad.sum()), distribution=dist)
