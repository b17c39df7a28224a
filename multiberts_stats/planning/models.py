"""Crossed variance-component models for :mod:`multiberts_stats.planning`.

A score ``y[s, r, j]`` of run ``r`` of pretraining seed ``s`` on example ``j`` is modelled as

    y = m + a_s + b_j + c_sj + u_sr + e_srj

with independent zero-mean effects: seed (``a``), example (``b``), seed x example (``c``),
run within seed (``u``, a fine-tuning run's overall shift) and residual (``e``, run x example,
for binary scores mostly Bernoulli noise). For a comparison the same components are those of
the difference (see :class:`Components`). The components are on the scale of the score (the
Multi-Bootstrap tests means of per-example scores), so the model holds for accuracy as for
continuous scores; :class:`ProbitModel` is a crossed probit model of binary outcomes whose
observed-scale components it computes exactly.

This module imports numpy only at import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from multiberts_stats.errors import InputError, InputTypeError, describe

__all__ = ["COMPONENT_NAMES", "PLAN_DESIGNS", "Components", "ProbitModel", "fit_components"]

#: the components, in the order of :meth:`Components.values`
COMPONENT_NAMES = ("seed", "example", "seed_example", "run", "residual", "baseline_run",
                   "baseline_residual")
#: designs a plan can be made for
PLAN_DESIGNS = ("single", "paired", "unpaired", "fixed_baseline")
_LINEAR_METRICS = ("accuracy", "error", "mean")


def _check_design(design, func: str) -> str:
    design = "single" if design is None else design
    if design not in PLAN_DESIGNS:
        raise InputError(f"The `design` parameter of {func} must be one of None, 'single', "
                         f"'paired', 'unpaired', 'fixed_baseline'. Got {describe(design)} instead.")
    return design


@dataclass
class Components:
    """Crossed variance components of one procedure's score or of a comparison's difference.

    Parameters
    ----------
    seed, example, seed_example, run, residual : float
        Variances (>= 0, on the scale of the score). For ``design="single"`` those of the score;
        ``"paired"``: those of the difference expt - base within a seed (runs paired
        arbitrarily: they are exchangeable); ``"unpaired"``: the sums of both sides' seed,
        seed x example, run and residual components, and the variance of the difference of
        the sides' example effects; ``"fixed_baseline"``: the experiment side's components,
        with ``example`` the variance of its example effects minus the baseline's (the
        baseline artifact's own seed x example part included).
    baseline_run, baseline_residual : float
        The fixed baseline's run and residual components (its fine-tuning noise; 0 otherwise).
    design : str
        One of :data:`PLAN_DESIGNS`.
    estimate : float
        The pilot's estimate of the score (single) or of the difference.
    base_mean : float
        The baseline's mean score (for effects stated relative to the base).
    intervals : dict
        ``{name: (low, high)}`` intervals of the components at ``confidence_level``.
    pilot : dict
        ``n_seeds``, ``n_runs``, ``n_examples`` of the pilot, and a ``label`` for figures.
    outcome : {"continuous", "binary"}
        Whether the pilot's scores were 0/1.
    notes : list of str
        What the fit could not identify (e.g. one run per seed).
    draws : ndarray, optional
        (n_draws, 7) draws of the components from their generalised pivots (for propagating
        their uncertainty into a plan).

    Examples
    --------
    >>> c = Components(seed=1e-4, example=0.02, seed_example=0.01, run=1e-4, residual=0.15,
    ...                design="paired", base_mean=0.8)
    >>> round(float(c.variance(10, 2, 1000)), 8)  # Var of the estimated difference
    4.35e-05
    """

    seed: float = 0.0
    example: float = 0.0
    seed_example: float = 0.0
    run: float = 0.0
    residual: float = 0.0
    baseline_run: float = 0.0
    baseline_residual: float = 0.0
    design: str = "single"
    estimate: float = math.nan
    base_mean: float = math.nan
    intervals: dict = field(default_factory=dict)
    confidence_level: float = 0.95
    pilot: dict = field(default_factory=dict)
    outcome: str = "continuous"
    notes: list = field(default_factory=list)
    draws: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        self.design = _check_design(self.design, "Components")
        for name in COMPONENT_NAMES:
            v = getattr(self, name)
            try:
                ok = float(v) >= 0 and math.isfinite(float(v))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise InputError(f"The `{name}` parameter of Components must be a finite "
                                 f"variance >= 0. Got {describe(v)} instead.")
            setattr(self, name, float(v))
        if self.design != "fixed_baseline" and (self.baseline_run or self.baseline_residual):
            raise InputError("The `baseline_run` and `baseline_residual` parameters of Components "
                             f"apply to design='fixed_baseline' only. Got design={self.design!r} "
                             f"with baseline_run={self.baseline_run}, baseline_residual="
                             f"{self.baseline_residual}.")

    def values(self) -> np.ndarray:
        """The seven components as an array, in the order of :data:`COMPONENT_NAMES`."""
        return np.array([getattr(self, n) for n in COMPONENT_NAMES])

    @staticmethod
    def _coef(S, R, J):
        S, R, J = (np.asarray(x, float) for x in (S, R, J))
        return [1 / S, 1 / J, 1 / (S * J), 1 / (S * R), 1 / (S * R * J), 1 / R + 0 * S,
                1 / (R * J) + 0 * S]

    def variance(self, n_seeds, n_runs, n_examples, values=None) -> np.ndarray:
        """Variance of the estimate (score or difference) with ``n_seeds`` seeds (per side),
        ``n_runs`` runs per seed and ``n_examples`` examples.

        ``seed/S + example/J + seed_example/(S J) + run/(S R) + residual/(S R J)`` (+
        ``baseline_run/R + baseline_residual/(R J)`` for a fixed baseline with R runs).
        ``values`` (..., 7) replaces the components (e.g. their draws).
        """
        v = self.values() if values is None else np.asarray(values, float)
        co = self._coef(n_seeds, n_runs, n_examples)
        return sum(v[..., i] * co[i] for i in range(7))

    def bootstrap_variance(self, n_seeds, n_runs, n_examples, values=None) -> np.ndarray:
        """Expected variance of the joint (seeds and examples) Multi-Bootstrap distribution.

        Joint resampling counts the seed x example and residual noise again in both main
        effects (docs/statistics.md): ``(S-1)/S (seed + run/R)/S + (J-1)/J example/J +
        (fS + fJ + fS fJ) (seed_example + residual/R)/(S J)`` with ``fS = (S-1)/S``,
        ``fJ = (J-1)/J``; a fixed baseline's run part is never resampled.
        """
        v = self.values() if values is None else np.asarray(values, float)
        seed, ex, sxe, run, res, _, bres = (v[..., i] for i in range(7))
        S, R, J = (np.asarray(x, float) for x in (n_seeds, n_runs, n_examples))
        fs, fj = (S - 1) / S, (J - 1) / J
        return (fs * (seed + run / R) / S + fj * (ex + bres / R) / J
                + (fs + fj + fs * fj) * (sxe + res / R) / (S * J))

    def corrected_df(self, n_seeds, n_runs, n_examples) -> np.ndarray:
        """Satterthwaite degrees of freedom the corrected interval would have (expected mean
        squares in place of observed ones)."""
        S, R, J = (np.asarray(x, float) for x in (n_seeds, n_runs, n_examples))
        sa = self.seed + self.run / R
        se = self.seed_example + self.residual / R
        t1 = (sa + se / J) / S
        t2 = (self.example + self.baseline_residual / R + se / S) / J
        t3 = se / (S * J)
        var = np.maximum(t1 + t2 - t3, 1e-300)
        den = t1 ** 2 / (S - 1) + t2 ** 2 / (J - 1) + t3 ** 2 / ((S - 1) * (J - 1))
        return np.maximum(var ** 2 / np.maximum(den, 1e-300), 1.0)

    def to_frame(self):
        """One row per component: variance, sd, interval, its span (high / low) and its share
        of the variance of the estimate at the pilot's size."""
        import pandas as pd

        p = self.pilot
        S, R, J = p.get("n_seeds", 10), p.get("n_runs", 1), p.get("n_examples", 1000)
        co = self._coef(S, R, J)
        v = self.values()
        tot = float(self.variance(S, R, J)) or math.nan
        rows = []
        for i, n in enumerate(COMPONENT_NAMES):
            if self.design != "fixed_baseline" and n.startswith("baseline"):
                continue
            lo, hi = self.intervals.get(n, (math.nan, math.nan))
            rows.append({"component": n, "variance": v[i], "sd": math.sqrt(v[i]), "low": lo,
                         "high": hi, "span": (hi / lo if lo > 0 else math.inf)
                         if math.isfinite(hi) else math.nan,
                         "share_at_pilot": float(v[i] * co[i]) / tot})
        return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# fitting from a pilot


def _mean_squares(Y: np.ndarray) -> dict:
    """Balanced seed / run-within-seed / example ANOVA of a (S, R, J) array."""
    S, R, J = Y.shape
    m = Y.mean()
    ys = Y.mean(axis=(1, 2))
    ysr = Y.mean(axis=2)
    yj = Y.mean(axis=(0, 1))
    ysj = Y.mean(axis=1)
    ms = {"seed": (R * J * np.sum((ys - m) ** 2), S - 1),
          "run": (J * np.sum((ysr - ys[:, None]) ** 2), S * (R - 1)),
          "ex": (S * R * np.sum((yj - m) ** 2), J - 1),
          "sxe": (R * np.sum((ysj - ys[:, None] - yj[None, :] + m) ** 2), (S - 1) * (J - 1)),
          "res": (np.sum((Y - ysr[:, :, None] - ysj[:, None, :] + ys[:, None, None]) ** 2),
                  S * (R - 1) * (J - 1))}
    return {k: (float(ss / df) if df > 0 else 0.0, int(df)) for k, (ss, df) in ms.items()}


def _ms_all(design: str, arrays: list) -> dict:
    """Every mean square (value, df) the components of ``design`` are made of."""
    if design in ("single", "paired"):
        return {"d" + k: v for k, v in _mean_squares(arrays[0]).items()}
    Yb, Ye = arrays
    J = Ye.shape[2]
    ms = {"e" + k: v for k, v in _mean_squares(Ye).items()}
    dcol = Ye.mean(axis=(0, 1)) - Yb.mean(axis=(0, 1))
    ms["dcol"] = (float(np.var(dcol, ddof=1)), J - 1)
    mb = _mean_squares(Yb)
    if design == "unpaired":
        ms.update({"b" + k: v for k, v in mb.items()})
    else:
        ms["brun"], ms["bres"] = mb["run"], mb["res"]
    return ms


_EXAMPLE_LEVEL = ("ex", "sxe", "res", "dcol")


def _example_df(ms: dict, design: str, arrays: list, n_boot: int, rng) -> dict:
    """Degrees of freedom of the example-level mean squares from a bootstrap over examples.

    Under normality ``MS ~ E[MS] chi2_df / df``. Binary scores are not normal and, more
    important, their per-example variances differ (an easy example has little Bernoulli noise),
    so which examples the pilot holds moves the example-level mean squares more than the
    chi-square says. The bootstrap variance of each such mean square gives its effective
    degrees of freedom ``2 MS^2 / Var*(MS)``, used (when smaller than the nominal ones) in its
    pivot. Seed-level mean squares keep their chi-square pivots (seeds, not examples, move them).
    """
    if n_boot <= 0:
        return ms
    J = arrays[-1].shape[2]
    keys = [k for k in ms if k.endswith(_EXAMPLE_LEVEL) and ms[k][1] > 0]
    vals = np.empty((n_boot, len(keys)))
    for b in range(n_boot):
        idx = rng.integers(0, J, J)
        m = _ms_all(design, [a[:, :, idx] for a in arrays])
        vals[b] = [m[k][0] for k in keys]
    out = dict(ms)
    for i, k in enumerate(keys):
        v = float(np.var(vals[:, i], ddof=1))
        if v > 0:
            df_eff = 2 * ms[k][0] ** 2 / v
            out[k] = (ms[k][0], max(1.0, min(float(ms[k][1]), df_eff)))
    return out


def _side_rows(S: int, R: int, J: int, prefix: str, notes: list, side: str) -> dict:
    """Coefficient rows (over the mean squares named ``prefix+key``) of one side's components."""
    k = {n: prefix + n for n in ("seed", "run", "ex", "sxe", "res")}
    if R > 1:
        return {"seed": {k["seed"]: 1 / (R * J), k["run"]: -1 / (R * J), k["sxe"]: -1 / (R * J),
                         k["res"]: 1 / (R * J)},
                "run": {k["run"]: 1 / J, k["res"]: -1 / J},
                "example": {k["ex"]: 1 / (S * R), k["sxe"]: -1 / (S * R)},
                "seed_example": {k["sxe"]: 1 / R, k["res"]: -1 / R},
                "residual": {k["res"]: 1.0}}
    notes.append(f"The {side} pilot has one run per seed: run-within-seed noise cannot be told "
                 "apart from the seed component, nor residual noise from seed x example; they "
                 "are counted there, so more runs per seed are predicted to help nothing (a "
                 "pessimistic plan for runs). Fine-tune at least 2 runs per seed in the pilot.")
    return {"seed": {k["seed"]: 1 / J, k["sxe"]: -1 / J},
            "example": {k["ex"]: 1 / S, k["sxe"]: -1 / S},
            "seed_example": {k["sxe"]: 1.0}, "run": {}, "residual": {}}


def _cube(obj, side: str, metric: str, score_col, seed_col: str, run_cols, func: str):
    """One side of a pilot as (seeds, example ids, Y (S, R, J)).

    A tidy table goes through the one tidy -> matrix conversion
    (:func:`multiberts_stats.table.to_matrix_runs`).
    """
    from multiberts_stats.table import CONDITION_COLUMNS, MatrixRuns, to_matrix_runs

    col = score_col or "score"
    if hasattr(obj, "columns") and hasattr(obj, "groupby"):
        df = obj
        for c in CONDITION_COLUMNS:
            if c != "checkpoint" and c in df.columns and df[c].nunique(dropna=False) > 1:
                raise InputError(f"The `{side}` pilot passed to {func} must be one condition, but "
                                 f"column {c!r} takes several values: "
                                 f"{sorted(map(str, df[c].unique()))[:10]}. Select one (e.g. "
                                 f"--base {c}=...).")
        if run_cols is None:
            run_cols = [c for c in ("finetune_seed", "hparams") if c in df.columns]
        else:
            run_cols = [run_cols] if isinstance(run_cols, str) else list(run_cols)
        kw = (dict(value=None, label=None, run_values=[col]) if metric == "mean" else {})
        obj = to_matrix_runs(df, seed_col=seed_col, run_cols=run_cols, side=side, caller=func,
                             **kw)
    if not isinstance(obj, MatrixRuns):
        raise InputTypeError(f"The `{side}` parameter of {func} must be a tidy pandas DataFrame or "
                             f"a MatrixRuns. Got {type(obj).__name__} instead.")
    if metric == "mean":
        scores = np.asarray(obj.matrix(col), float)
    else:
        scores = (np.asarray(obj.matrix("prediction"))
                  == np.asarray(obj.example_column("label"))[None, :]).astype(float)
    seeds_per_run = obj.seed_values(seed_col)
    ids = np.arange(scores.shape[1]) if obj.example_ids is None else np.asarray(obj.example_ids)
    if not np.all(np.isfinite(scores)):
        raise InputError(f"The `{side}` pilot passed to {func} must have finite scores. Got "
                         f"{int((~np.isfinite(scores)).sum())} NaN/inf values.")
    if metric == "error":
        scores = 1.0 - scores
    order = np.argsort(ids, kind="stable")
    ids, scores = ids[order], scores[:, order]
    seeds = sorted(set(seeds_per_run.tolist()))
    per = [np.flatnonzero(seeds_per_run == s) for s in seeds]
    R = {len(p) for p in per}
    if len(R) != 1:
        counts = {s: len(p) for s, p in zip(seeds, per)}
        raise InputError(f"The `{side}` pilot passed to {func} must have the same number of runs "
                         f"in every seed (a balanced pilot). Got runs per seed {counts}; drop runs "
                         "so every seed has as many.")
    Y = np.stack([scores[p] for p in per])  # (S, R, J)
    return seeds, ids, Y


def _gpq(ms: dict, rows: dict, n_draws: int, level: float, rng) -> tuple[dict, dict, np.ndarray]:
    """Point estimates (clipped at 0), generalised confidence intervals and draws.

    Each mean square ``MS_q`` with ``df_q`` degrees of freedom has the generalised pivot
    ``ms_q df_q / chi2_{df_q}``; a component (a linear combination of expected mean squares)
    has the same combination of pivots, clipped at 0 (Weerahandi's generalised intervals).
    """
    names = [k for k, (_, df) in ms.items() if df > 0]
    m = np.array([ms[k][0] for k in names])
    df = np.array([ms[k][1] for k in names], float)
    piv = m * df / rng.chisquare(df, size=(n_draws, len(names)))
    est, iv, draws = {}, {}, np.zeros((n_draws, len(COMPONENT_NAMES)))
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    for ci, comp in enumerate(COMPONENT_NAMES):
        row = rows.get(comp)
        if row is None:
            continue
        c = np.array([row.get(k, 0.0) for k in names])
        est[comp] = max(float(c @ m), 0.0)
        d = np.maximum(piv @ c, 0.0)
        draws[:, ci] = d
        iv[comp] = (float(np.quantile(d, q[0])), float(np.quantile(d, q[1]))) if row else \
            (0.0, 0.0)
    return est, iv, draws


def fit_components(base, expt=None, *, design=None, metric="accuracy", score_col=None,
                   seed_col="pretrain_seed", run_cols=None, confidence_level=0.95,
                   n_draws=4000, n_example_boot=100, rng=0) -> Components:
    """Fit the crossed variance components of a pilot (one procedure, or a comparison).

    A balanced ANOVA of seeds x runs-within-seed x examples (method of moments: unbiased,
    no distributional assumption for the point estimates); intervals are generalised
    confidence intervals from the chi-square pivots of the mean squares (exact for a single
    mean square under normality, close to nominal for differences of mean squares), the
    example-level ones with effective degrees of freedom from a bootstrap over examples
    (binary scores); their coverage on binary and continuous pilots is in docs/statistics.md.

    Parameters
    ----------
    base : pandas.DataFrame or MatrixRuns
        The pilot of one procedure (or the baseline): a tidy table with the seed column,
        ``example_id`` and ``label``/``prediction`` (or ``score`` for ``metric="mean"``).
        Every seed needs the same number of runs and every run every example.
    expt : pandas.DataFrame or MatrixRuns, optional
        The experiment side of a comparison (same examples).
    design : {None, "single", "paired", "unpaired", "fixed_baseline"}
        None / "single" without ``expt``; ``"paired"`` when ``expt`` is given and no design.
    metric : {"accuracy", "error", "mean"}
        The per-example score: correctness, its complement, or the ``score_col`` column.
    score_col : str, optional
        Column read by ``metric="mean"`` (default ``"score"``).
    seed_col : str
        Pretraining-seed column (default ``"pretrain_seed"``).
    run_cols : str or list of str, optional
        Columns identifying a run inside a seed (default: ``finetune_seed`` and ``hparams``
        where present).
    confidence_level : float
        Level of the component intervals (default 0.95).
    n_draws : int
        Draws of the generalised pivots (default 4000).
    n_example_boot : int
        Bootstrap replicates over examples that set the effective degrees of freedom of the
        example-level mean squares (default 100; 0 keeps the nominal chi-square ones).
    rng : None, int or numpy Generator
        Randomness of the pivot draws (default 0).

    Returns
    -------
    Components

    Raises
    ------
    InputError
        A resampled side with one seed (the seed component is not identifiable), an
        unbalanced pilot, a side mixing conditions, unknown metric or design.

    Examples
    --------
    >>> import numpy as np
    >>> m = ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.3, sd_run=0.05)
    >>> base, expt = m.simulate_tables(np.random.default_rng(0), 5, 2, 400, "paired")
    >>> c = fit_components(base, expt, design="paired")
    >>> c.design, c.pilot["n_seeds"], c.outcome
    ('paired', 5, 'binary')
    >>> lo, hi = c.intervals["residual"]; bool(lo <= c.residual <= hi)
    True
    """
    func = "fit_components"
    design = _check_design(design if design is not None or expt is None else "paired", func)
    if (expt is None) != (design == "single"):
        raise InputError(f"The `design` parameter of {func} must be 'single' (or None) without "
                         f"`expt` and a comparison design with it. Got design={design!r} and "
                         f"expt={'None' if expt is None else 'a table'}.")
    if metric not in _LINEAR_METRICS:
        raise InputError(f"The `metric` parameter of {func} must be one of "
                         f"{list(_LINEAR_METRICS)} (means of per-example scores). Got "
                         f"{describe(metric)} instead.")
    if not (isinstance(confidence_level, (int, float)) and 0 < confidence_level < 1):
        raise InputError(f"The `confidence_level` parameter of {func} must be in (0, 1). Got "
                         f"{describe(confidence_level)} instead.")
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 100:
        raise InputError(f"The `n_draws` parameter of {func} must be an integer >= 100. Got "
                         f"{describe(n_draws)} instead.")
    rng = np.random.default_rng(rng)
    sides = {"base": _cube(base, "base", metric, score_col, seed_col, run_cols, func)}
    if expt is not None:
        sides["expt"] = _cube(expt, "expt", metric, score_col, seed_col, run_cols, func)
        if not np.array_equal(sides["base"][1], sides["expt"][1]):
            raise InputError(f"Example ids must be the same on both sides of the pilot passed to "
                             f"{func}. Got {len(sides['base'][1])} and {len(sides['expt'][1])} ids "
                             f"({len(np.setdiff1d(sides['base'][1], sides['expt'][1]))} only in "
                             "base).")
    for k, (seeds, _, _) in sides.items():
        if len(seeds) < 2 and not (design == "fixed_baseline" and k == "base"):
            raise InputError(f"The `{k}` pilot passed to {func} must have at least 2 pretraining "
                             f"seeds: with one the seed component is not identifiable. Got 1 "
                             f"seed ({describe(seeds[0])}).")
    notes: list[str] = []
    Yb = sides["base"][2]
    J = Yb.shape[2]
    binary = all(np.isin(np.unique(s[2]), [0.0, 1.0]).all() for s in sides.values())
    rows: dict = {}
    if design in ("single", "paired"):
        Y = Yb
        if design == "paired":
            sb, se = sides["base"][0], sides["expt"][0]
            common = sorted(set(sb) & set(se))
            if len(common) < 2:
                raise InputError(f"The paired pilot passed to {func} needs at least 2 seeds on both "
                                 f"sides. Got base seeds {sb[:10]} and expt seeds {se[:10]}.")
            if len(common) < max(len(sb), len(se)):
                notes.append(f"{len(sb) + len(se) - 2 * len(common)} seed(s) present on one side "
                             "only are left out of the paired fit.")
            Yb = sides["base"][2][[sb.index(s) for s in common]]
            Ye = sides["expt"][2][[se.index(s) for s in common]]
            if Yb.shape[1] != Ye.shape[1]:
                raise InputError(f"The paired pilot passed to {func} must have as many runs per seed "
                                 f"on both sides. Got {Yb.shape[1]} (base) and {Ye.shape[1]} (expt).")
            Y = Ye - Yb
        S, R, _ = Y.shape
        arrays = [Y]
        rows = _side_rows(S, R, J, "d", notes, "")
        estimate = float(Y.mean())
        pilot = {"n_seeds": S, "n_runs": R, "n_examples": J}
    else:
        Ye = sides["expt"][2]
        Se, Re, _ = Ye.shape
        rows = _side_rows(Se, Re, J, "e", notes, "expt")
        ex = {"dcol": 1.0, "esxe": -1.0 / (Se * Re)}
        if design == "unpaired":
            Sb, Rb, _ = Yb.shape
            rb = _side_rows(Sb, Rb, J, "b", notes, "base")
            for comp in ("seed", "seed_example", "run", "residual"):
                rows[comp] = {**rows[comp], **rb[comp]}
            ex["bsxe"] = -1.0 / (Sb * Rb)
            pilot = {"n_seeds": min(Se, Sb), "n_runs": min(Re, Rb), "n_examples": J}
        else:
            if Yb.shape[0] > 1:
                notes.append(f"The fixed baseline has {Yb.shape[0]} seeds; its runs are pooled as "
                             "the runs of one artifact.")
                Yb = Yb.reshape(1, -1, J)
            Rb = Yb.shape[1]
            if Rb > 1:
                rows["baseline_run"] = {"brun": 1 / J, "bres": -1 / J}
                rows["baseline_residual"] = {"bres": 1.0}
                ex["bres"] = -1.0 / Rb
            else:
                notes.append("The fixed baseline has one run: its fine-tuning noise is not "
                             "identifiable and is counted as 0 (an optimistic plan).")
            pilot = {"n_seeds": Se, "n_runs": Re, "n_examples": J, "baseline_runs": Rb}
        rows["example"] = ex
        estimate = float(Ye.mean() - Yb.mean())
        arrays = [Yb, Ye]
    ms = _ms_all(design, arrays)
    ms = _example_df(ms, design, arrays, n_example_boot, rng)
    est, iv, draws = _gpq(ms, rows, n_draws, confidence_level, rng)
    label = metric if metric != "mean" else (score_col or "score")
    if hasattr(base, "columns") and "task" in getattr(base, "columns", []) and len(base):
        label = f"{base['task'].iloc[0]} {label}"
    pilot["label"] = label
    return Components(**est, design=design, estimate=estimate,
                      base_mean=float(sides["base"][2].mean()), intervals=iv,
                      confidence_level=confidence_level, pilot=pilot,
                      outcome="binary" if binary else "continuous", notes=notes, draws=draws)


# ----------------------------------------------------------------------------------------------
# a crossed probit model of binary outcomes

_GL_X, _GL_W = np.polynomial.legendre.leggauss(48)


def _orthant_cov(h1: float, h2: float, rho: float) -> float:
    """Cov(1{X1 < h1}, 1{X2 < h2}) for standard normals with correlation rho:
    Phi2(h1, h2; rho) - Phi(h1) Phi(h2) = int_0^rho phi2(h1, h2; r) dr (Gauss-Legendre)."""
    if rho == 0:
        return 0.0
    r = (_GL_X + 1) * rho / 2
    q = (h1 * h1 - 2 * r * h1 * h2 + h2 * h2) / (2 * (1 - r * r))
    f = np.exp(-q) / (2 * np.pi * np.sqrt(1 - r * r))
    return float(np.sum(_GL_W * f) * rho / 2)


@dataclass(frozen=True)
class ProbitModel:
    """A crossed probit model of binary per-example outcomes (e.g. correctness).

    Run ``r`` of seed ``s`` is correct on example ``j`` with probability
    ``Phi(mu + a_s + b_j + c_sj + u_sr)`` (base) and ``Phi(mu + effect + a_s + b_j + c_sj +
    alpha_s + beta_j + u'_sr)`` (experiment), the effects normal with the given sds; in a
    paired design both sides share the seed's ``a`` and ``c``, in an unpaired one the
    experiment has its own; ``alpha``, ``beta`` are the intervention's seed and example
    effects; every run has its own ``u``. Fixed-baseline designs are not offered (the
    baseline artifact's own effects would make the estimand random).

    Examples
    --------
    >>> m = ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, effect=0.1)
    >>> round(m.base_mean(), 4), round(m.delta(), 4)
    (0.7597, 0.0214)
    >>> c = m.components("paired")
    >>> c.seed > 0 and c.residual > c.seed_example
    True
    """

    mu: float = 1.0
    sd_seed: float = 0.05
    sd_example: float = 1.0
    sd_seed_example: float = 0.0
    sd_run: float = 0.0
    effect: float = 0.0
    sd_effect_seed: float = 0.0
    sd_effect_example: float = 0.0

    def _t2(self, side: str) -> float:
        t = self.sd_seed ** 2 + self.sd_example ** 2 + self.sd_seed_example ** 2 + self.sd_run ** 2
        if side == "expt":
            t += self.sd_effect_seed ** 2 + self.sd_effect_example ** 2
        return t

    def _h(self, side: str) -> float:
        m = self.mu + (self.effect if side == "expt" else 0.0)
        return m / math.sqrt(1 + self._t2(side))

    def base_mean(self) -> float:
        """Expected base score E Phi(...)."""
        from scipy.special import ndtr

        return float(ndtr(self._h("base")))

    def delta(self) -> float:
        """Expected difference of scores, expt - base (the estimand)."""
        from scipy.special import ndtr

        return float(ndtr(self._h("expt")) - ndtr(self._h("base")))

    def _cov(self, k1, k2, same_s, same_r, same_j, paired) -> float:
        from scipy.special import ndtr

        if k1 == k2 and same_s and same_r and same_j:
            p = float(ndtr(self._h(k1)))
            return p * (1 - p)
        v = 0.0
        if same_s and (k1 == k2 or paired):
            v += self.sd_seed ** 2 + (self.sd_seed_example ** 2 if same_j else 0.0)
        if same_j:
            v += self.sd_example ** 2
        if k1 == k2 == "expt":
            v += (self.sd_effect_seed ** 2 if same_s else 0) + \
                (self.sd_effect_example ** 2 if same_j else 0)
        if k1 == k2 and same_s and same_r:
            v += self.sd_run ** 2
        rho = v / math.sqrt((1 + self._t2(k1)) * (1 + self._t2(k2)))
        return _orthant_cov(self._h(k1), self._h(k2), rho)

    def components(self, design: str = "paired") -> Components:
        """The observed-scale components this model implies (exact up to quadrature)."""
        design = _check_design(design, "ProbitModel.components")
        if design == "fixed_baseline":
            raise InputError("The `design` parameter of ProbitModel.components must be 'single', "
                             "'paired' or 'unpaired'. Got 'fixed_baseline' instead.")
        paired = design == "paired"

        def side_comps(cov):
            seed = cov(1, 0, 0)
            run = cov(1, 1, 0) - seed
            ex = cov(0, 0, 1)
            sxe = cov(1, 0, 1) - seed - ex
            res = cov(1, 1, 1) - seed - run - ex - sxe
            return {"seed": seed, "run": run, "example": ex, "seed_example": sxe, "residual": res}

        if design == "single":
            c = side_comps(lambda s, r, j: self._cov("base", "base", s, r, j, True))
            est = self.base_mean()
        elif paired:
            def dcov(s, r, j):
                cross = self._cov("expt", "base", s, r and False, j, True)
                return (self._cov("expt", "expt", s, r, j, True) - 2 * cross
                        + self._cov("base", "base", s, r, j, True))
            c = side_comps(dcov)
            est = self.delta()
        else:
            cb = side_comps(lambda s, r, j: self._cov("base", "base", s, r, j, False))
            ce = side_comps(lambda s, r, j: self._cov("expt", "expt", s, r, j, False))
            c = {k: cb[k] + ce[k] for k in cb}
            c["example"] = (self._cov("expt", "expt", 0, 0, 1, False)
                            - 2 * self._cov("expt", "base", 0, 0, 1, False)
                            + self._cov("base", "base", 0, 0, 1, False))
            est = self.delta()
        c = {k: max(v, 0.0) for k, v in c.items()}
        return Components(**c, design=design, estimate=est, base_mean=self.base_mean(),
                          outcome="binary", pilot={"label": "accuracy (probit model)"})

    def simulate_runs(self, rng, n_seeds: int, n_runs: int, n_examples: int,
                      design: str = "paired", n_experiments: int | None = None):
        """Binary outcomes of both sides: ``(base, expt)`` arrays (S, R, J) (with a leading
        experiments axis when ``n_experiments`` is given); ``expt`` is None for "single"."""
        from scipy.special import ndtr

        K = 1 if n_experiments is None else n_experiments
        S, R, J = n_seeds, n_runs, n_examples
        a = rng.normal(0, self.sd_seed, (K, S, 1, 1))
        b = rng.normal(0, self.sd_example, (K, 1, 1, J))
        c = rng.normal(0, self.sd_seed_example, (K, S, 1, J)) if self.sd_seed_example else 0.0
        zb = self.mu + a + b + c + rng.normal(0, self.sd_run, (K, S, R, 1))
        base = rng.random((K, S, R, J), dtype=np.float32) < ndtr(zb).astype(np.float32)
        expt = None
        if design != "single":
            if design == "unpaired":
                a = rng.normal(0, self.sd_seed, (K, S, 1, 1))
                c = rng.normal(0, self.sd_seed_example, (K, S, 1, J)) if self.sd_seed_example \
                    else 0.0
            ze = (self.mu + self.effect + a + b + c + rng.normal(0, self.sd_run, (K, S, R, 1))
                  + rng.normal(0, self.sd_effect_seed, (K, S, 1, 1))
                  + rng.normal(0, self.sd_effect_example, (K, 1, 1, J)))
            expt = rng.random((K, S, R, J), dtype=np.float32) < ndtr(ze).astype(np.float32)
        if n_experiments is None:
            return base[0], None if expt is None else expt[0]
        return base, expt

    def simulate_tables(self, rng, n_seeds: int, n_runs: int, n_examples: int,
                        design: str = "paired"):
        """One simulated pilot as tidy tables ``(base, expt)`` (``expt`` None for "single")."""
        import pandas as pd

        out = []
        for Y in self.simulate_runs(rng, n_seeds, n_runs, n_examples, design):
            if Y is None:
                out.append(None)
                continue
            S, R, J = Y.shape
            s, r, j = np.meshgrid(np.arange(S), np.arange(R), np.arange(J), indexing="ij")
            out.append(pd.DataFrame({"pretrain_seed": s.ravel(), "finetune_seed": r.ravel(),
                                     "example_id": j.ravel(), "label": 1,
                                     "prediction": Y.ravel().astype(int)}))
        return tuple(out)


# ----------------------------------------------------------------------------------------------
# argument helpers shared by the planning modules


def check_number(x, name, func, *, lo=None, hi=None, open_=True, allow_none=False, integer=False):
    """``x`` as a float (int with ``integer``) inside the stated bounds, else an InputError
    naming the parameter, the rule and the value."""
    if x is None and allow_none:
        return None
    ok = isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
    if ok:
        x = float(x)
        ok = math.isfinite(x)
    if ok and integer:
        ok = x == int(x)
    if ok and lo is not None:
        ok = x > lo if open_ else x >= lo
    if ok and hi is not None:
        ok = x < hi if open_ else x <= hi
    if not ok:
        rule = {(0, 1, True): "a number in (0, 1)", (0, None, False): "a finite number >= 0",
                (0, None, True): "a number > 0"}.get((lo, hi, open_), "a valid number")
        if integer:
            rule = f"an integer >= {int(lo) + (1 if open_ else 0)}"
        raise InputError(f"The `{name}` parameter of {func} must be {rule}. Got {describe(x)} "
                         "instead.")
    return int(x) if integer else x


def resolve_model(model, design, func):
    """``(components, probit model or None)`` of a plan's ``model`` argument."""
    if isinstance(model, ProbitModel):
        if design is None:
            raise InputError(f"The `design` parameter of {func} is required with a ProbitModel "
                             "('single', 'paired' or 'unpaired'). Got None.")
        return model.components(design), model
    if isinstance(model, Components):
        if design is not None and design != model.design:
            raise InputError(f"The `design` parameter of {func} must match the components' design "
                             f"{model.design!r} (fit them for the design you plan). Got "
                             f"{design!r}.")
        return model, None
    raise InputTypeError(f"The `model` parameter of {func} must be Components (fit_components, or "
                         f"stated) or a ProbitModel. Got {type(model).__name__} instead.")
