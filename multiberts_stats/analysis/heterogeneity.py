"""Do the artifacts differ? A heterogeneity test of per-seed effects beyond example noise.

The per-seed effects ``v_s`` (s = 1..m: a paired difference per pretraining seed, a seed's
score alone, ...) are estimated on the *same* examples, so their example noise is correlated:
an example that is hard for one seed is hard for all. The test treats examples (or clusters)
as the subjects of a repeated-measures design in which every seed is one measurement:

* ``Z[s, j]`` is the linearised contribution of unit ``j`` to ``v_s`` (for a mean of
  per-example scores, the per-example score; for a ratio over clusters, cluster total minus
  ``v_s`` times cluster size, scaled so that ``v_s = mean_j Z[s, j]`` to first order);
* the example-resampling covariance of the vector ``v`` is ``Sigma = cov_j(Z[:, j]) / J``
  (the bootstrap covariance of examples-only replicates that share one example draw, in closed
  form; for metrics that do not decompose, the covariance of such replicates);
* with ``C`` orthonormal contrasts (rows orthogonal to the all-ones vector within each group of
  seeds), ``Q = (C v)' (C Sigma C')^-1 (C v)`` is Hotelling's T^2 for equal means over
  repeated measures, and ``F = Q (J - k) / (k (J - 1))`` has an F(k, J - k) distribution
  under H0 (k = number of contrasts), exactly for normal units and by the central limit
  theorem otherwise.

Because the contrasts remove what the seeds share, the shared example effects cancel exactly;
a Cochran Q that divides by each seed's *own* examples-only variance would instead count them
as noise and lose most of its power (and would be wrong, in either direction, whenever the
shared and seed-specific example noise are in different proportions).

Fine-tuning runs: when a seed has several runs, a run-level offset (one fine-tuning run better
than another on every example) is seed-specific noise that resampling examples does not see.
For linear metrics its variance is estimated from a within-seed runs x units ANOVA (mean
square of runs minus residual mean square, pooled over seeds) and added to the diagonal of
``Sigma`` (``run_variance``). That estimate rests on few degrees of freedom (seeds x (runs -
1)), so the p-value then comes from a parametric bootstrap of the null that redraws the
contrasts, the example covariance (Wishart, J - 1 df) and the runs' mean squares (chi-square)
and recomputes Q as observed; the F approximation with Satterthwaite degrees of freedom was
about one point liberal in simulation when there were no run offsets.

Between-artifact sd: with v = theta 1 + a + e, a ~ (0, tau^2 I) and e ~ (0, Sigma),
``Q(tau^2) = (C v)' (C (Sigma + tau^2 I) C')^-1 (C v)`` decreases in tau^2; the point
estimate is the moment estimate ``(sum (v_s - mean v)^2 - tr(P Sigma)) / (m - 1)`` (clamped at
0) and the interval is the Q-profile interval (Viechtbauer 2007) with the same F reference as
the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Heterogeneity", "heterogeneity_test", "helmert", "linearised_units",
           "run_offset_variance"]


def helmert(m: int) -> np.ndarray:
    """(m - 1, m) orthonormal contrasts: rows orthogonal to ones and to each other.

    Examples
    --------
    >>> C = helmert(4)
    >>> np.allclose(C @ C.T, np.eye(3)), np.allclose(C.sum(axis=1), 0)
    (True, True)
    """
    if m < 2:
        return np.zeros((0, m))
    H = np.zeros((m - 1, m))
    for i in range(1, m):
        H[i - 1, :i] = 1.0
        H[i - 1, i] = -float(i)
        H[i - 1] /= np.sqrt(i * (i + 1))
    return H


def linearised_units(Y: np.ndarray, sizes: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Per-seed estimates and linearised per-unit contributions of a ratio of sums.

    ``Y`` (m, J): per-unit sums of a linear statistic for each seed (already averaged over the
    seed's runs); ``sizes`` (J,): examples per unit (None: one each). ``v_s = Y_s.sum() / N``
    and ``Z_sj = (Y_sj - v_s sizes_j) J / N + v_s``, whose mean over j is ``v_s``.
    """
    Y = np.asarray(Y, float)
    J = Y.shape[1]
    n = np.ones(J) if sizes is None else np.asarray(sizes, float)
    N = n.sum()
    v = Y.sum(axis=1) / N
    Z = (Y - v[:, None] * n[None, :]) * (J / N) + v[:, None]
    return v, Z


def run_offset_variance(runs: list[np.ndarray]) -> dict:
    """Pooled variance of a run-level offset inside seeds, beyond example noise.

    ``runs``: per seed, a (R_s, J) matrix of per-unit scores of its runs (linearised scale).
    Returns ``{"variance", "ms_run", "ms_res", "df_run", "df_res", "J"}`` with ``variance =
    (MS_run - MS_residual) / J`` pooled over seeds with R_s >= 2 (unbiased, so it may be
    slightly negative); ``df_run == 0`` when no seed has two runs.
    """
    ss_run = ss_res = 0.0
    df_run = df_res = 0
    J = 0
    for y in runs:
        y = np.asarray(y, float)
        R, J = y.shape
        if R < 2:
            continue
        m_r = y.mean(axis=1)
        col = y.mean(axis=0)
        g = y - m_r[:, None] - col[None, :] + y.mean()
        ss_run += J * float(np.sum((m_r - m_r.mean()) ** 2))
        ss_res += float(np.sum(g * g))
        df_run += R - 1
        df_res += (R - 1) * (J - 1)
    if df_run == 0:
        return {"variance": 0.0, "ms_run": 0.0, "ms_res": 0.0, "df_run": 0, "df_res": 0, "J": J}
    ms_run, ms_res = ss_run / df_run, (ss_res / df_res if df_res else 0.0)
    return {"variance": (ms_run - ms_res) / J, "ms_run": ms_run, "ms_res": ms_res,
            "df_run": df_run, "df_res": df_res, "J": J}


def run_noise(sides: list[tuple[dict, np.ndarray]]):
    """Run-level variance per artifact from the sides' ANOVAs.

    ``sides``: (``run_offset_variance`` result, (m,) runs per artifact of that side, 0 where the
    side does not enter the artifact) pairs. Returns ``(variance (m,) or None, terms)``: the
    per-artifact variance ``sum_side (MS_run - MS_res) / (J R_s)`` and, per side with runs, the
    ANOVA with ``inv`` (1 / R_s per artifact) for the null distribution of the test.
    """
    var, terms = None, []
    for comp, n_runs in sides:
        n_runs = np.asarray(n_runs, float)
        inv = np.where(n_runs > 0, 1.0 / np.where(n_runs > 0, n_runs, 1), 0.0)
        if comp["df_run"] == 0:
            continue
        part = comp["variance"] * inv
        var = part if var is None else var + part
        terms.append({**comp, "inv": inv})
    return var, terms


def _null_pvalue(q_obs, C, Sigma_ex, J, terms, B, rng) -> float:
    """P(Q* >= q_obs) under H0 by a parametric bootstrap that redraws every estimated part.

    Under H0 the contrasts are ``N(0, C (Sigma_ex + diag(r)) C')`` with ``r`` the run-level
    variance (its estimate clamped at 0); the example covariance is redrawn from its Wishart
    distribution (J - 1 df), the runs' mean squares from their chi-square distributions, and
    Q* is computed as the observed Q was (a run-level estimate is clamped at 0 only when it
    leaves the covariance not positive definite).
    """
    from scipy.stats import wishart

    k = C.shape[0]
    A_ex = C @ Sigma_ex @ C.T
    r_true = sum(np.maximum(t["variance"], 0.0) * t["inv"] for t in terms)
    z = rng.multivariate_normal(np.zeros(k), A_ex + C @ np.diag(r_true) @ C.T, size=B,
                                method="eigh")
    W = wishart.rvs(df=J - 1, scale=A_ex / (J - 1), size=B, random_state=rng)
    W = W.reshape(B, k, k)
    r = np.zeros((B, C.shape[1]))
    for t in terms:
        e_run = t["ms_res"] + t["J"] * max(t["variance"], 0.0)
        ms_run = e_run * rng.chisquare(t["df_run"], B) / t["df_run"]
        ms_res = t["ms_res"] * rng.chisquare(t["df_res"], B) / t["df_res"]
        r += ((ms_run - ms_res) / t["J"])[:, None] * t["inv"][None, :]

    inv_all = np.array([t["inv"] for t in terms])
    scalar = bool(np.allclose(inv_all, inv_all[:, :1]))  # equal runs: C diag(r) C' = r I

    def q_of(rr, rows):
        if scalar:
            A = W[rows] + rr[rows, :1, None] * np.eye(k)[None]
        else:
            A = W[rows] + (C[None, :, :] * rr[rows, None, :]) @ C.T
        ok = np.ones(len(A), bool)
        neg = (rr[rows] < 0).any(axis=1)  # only a negative run-level draw can break it
        if neg.any():
            ok[neg] = np.linalg.eigvalsh(A[neg])[:, 0] > 0
        out = np.full(len(A), np.nan)
        L = np.linalg.cholesky(A[ok])
        out[ok] = np.sum(np.linalg.solve(L, z[rows][ok][..., None])[..., 0] ** 2, axis=1)
        return out

    q = q_of(r, np.arange(B))
    bad = np.flatnonzero(np.isnan(q))
    if len(bad):
        q[bad] = q_of(np.maximum(r, 0.0), bad)
    q = q[np.isfinite(q)]
    return float((1 + np.sum(q >= q_obs)) / (len(q) + 1))


@dataclass
class Heterogeneity:
    """Result of :func:`heterogeneity_test`.

    Attributes
    ----------
    defined : bool
        False when the test cannot be run (fewer than two artifacts, or fewer units than
        contrasts); ``reason`` says why and every number is NaN.
    statistic : float
        Hotelling's Q (T^2) of the per-seed effects.
    df : tuple of float
        (k, J - k): the F reference's degrees of freedom.
    pvalue : float
        P(F(k, J - k) >= Q (J - k) / (k (J - 1))).
    tau : float
        Moment estimate of the between-artifact sd of the effect (metric units).
    tau_ci : tuple of float
        Q-profile interval for tau at ``confidence_level``.
    n_artifacts, n_units : int
    run_variance : float
        The run-level (fine-tuning) variance added per artifact, 0 when none was estimated.
    method : str
        How the covariance was obtained: ``"units"`` (closed form) or ``"replicates"``.
    pvalue_method : str
        The null distribution: Hotelling's F, or (with a run-level variance) a parametric
        bootstrap.
    """

    defined: bool
    statistic: float
    df: tuple
    pvalue: float
    tau: float
    tau_ci: tuple
    n_artifacts: int
    n_units: int
    confidence_level: float
    run_variance: float = 0.0
    method: str = "units"
    reason: str = ""
    notes: list = field(default_factory=list)
    pvalue_method: str = ""

    def significant(self, alpha: float) -> bool:
        return bool(self.defined and self.pvalue <= alpha)

    def to_dict(self) -> dict:
        def c(x):
            return None if x is None or not np.isfinite(x) else float(x)

        return {"defined": self.defined, "statistic": c(self.statistic),
                "df": [c(d) for d in self.df], "pvalue": c(self.pvalue), "tau": c(self.tau),
                "tau_low": c(self.tau_ci[0]), "tau_high": c(self.tau_ci[1]),
                "n_artifacts": self.n_artifacts, "n_units": self.n_units,
                "confidence_level": self.confidence_level,
                "run_variance": c(self.run_variance), "method": self.method,
                "pvalue_method": self.pvalue_method, "reason": self.reason}


def _undefined(m, J, level, reason) -> Heterogeneity:
    nan = float("nan")
    return Heterogeneity(False, nan, (nan, nan), nan, nan, (nan, nan), m, J, level,
                         reason=reason)


def heterogeneity_test(v: np.ndarray, *, Z: np.ndarray | None = None,
                       cov: np.ndarray | None = None, n_units: int | None = None,
                       groups: np.ndarray | None = None, run_variance=None, run_terms=(),
                       confidence_level: float = 0.95, tau_scale: float = 1.0,
                       n_null: int = 1000, rng=0) -> Heterogeneity:
    """Test H0: every artifact has the same effect, and estimate tau with an interval.

    Parameters
    ----------
    v : array (m,)
        Per-artifact estimates.
    Z : array (m, J), optional
        Per-unit linearised contributions (``v_s = Z[s].mean()``); the covariance of ``v`` is
        ``cov(Z columns) / J``.
    cov : array (m, m), optional
        Instead of ``Z``: the examples-resampling covariance of ``v`` (from replicates that
        share one example draw), with ``n_units`` the effective number of independent units.
    groups : array (m,), optional
        Contrasts are taken within each group (e.g. base seeds and expt seeds of an unpaired
        design); default one group.
    run_variance : float or array (m,), optional
        Seed-specific (run-level) variance added to the diagonal.
    run_terms : list of dict, optional
        The ANOVAs behind ``run_variance`` (from :func:`run_noise`); with them the p-value comes
        from a parametric bootstrap of the null (``n_null`` draws from ``rng``, default a
        fixed seed so that the test is a function of the data) and the F reference of the tau
        interval has Satterthwaite degrees of freedom.
    tau_scale : float
        tau is reported as ``tau_scale`` times the between-seed sd (sqrt(2) for an unpaired
        pair of seeds).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(0, 1, (1, 400)) + rng.normal(0, 1, (10, 400))  # shared + own noise
    >>> h = heterogeneity_test(Z.mean(axis=1), Z=Z)
    >>> h.defined, h.df, bool(h.pvalue > 0.01)
    (True, (9.0, 391.0), True)
    """
    from scipy.stats import f as fdist

    v = np.asarray(v, float)
    m = len(v)
    g = np.zeros(m, int) if groups is None else np.asarray(groups)
    blocks = []
    for lab in dict.fromkeys(g.tolist()):
        idx = np.flatnonzero(g == lab)
        H = helmert(len(idx))
        Cb = np.zeros((H.shape[0], m))
        Cb[:, idx] = H
        blocks.append(Cb)
    C = np.vstack(blocks) if blocks else np.zeros((0, m))
    k = C.shape[0]
    if Z is not None:
        Z = np.asarray(Z, float)
        J = Z.shape[1]
        if k >= 1 and J - k >= 1:
            Zc = Z - Z.mean(axis=1, keepdims=True)
            Sigma = Zc @ Zc.T / (J * (J - 1))
    else:
        J = int(n_units)
        Sigma = np.asarray(cov, float)
    if k < 1:
        return _undefined(m, J, confidence_level,
                          f"heterogeneity needs at least two artifacts (got {m})")
    if J - k < 1:
        return _undefined(m, J, confidence_level,
                          f"heterogeneity needs more resampling units ({J}) than artifacts "
                          f"minus one ({k})")
    rv, rel = 0.0, 0.0
    if run_variance is not None:
        rv_arr = np.broadcast_to(np.asarray(run_variance, float), (m,))
        Sigma = Sigma + np.diag(rv_arr)
        rv = float(np.mean(rv_arr))
        # the run-level variance is estimated from few runs: its relative noise (Satterthwaite)
        # lowers the F reference's second degrees of freedom
        for t in run_terms:
            w = float(np.mean(t["inv"][t["inv"] > 0])) / t["J"]
            rel += (w * t["ms_run"]) ** 2 / t["df_run"] + (w * t["ms_res"]) ** 2 / t["df_res"]
    A = C @ Sigma @ C.T
    lam, V = np.linalg.eigh(A)
    tol = max(lam.max(), 0.0) * 1e-10
    if lam.min() <= tol and run_variance is not None and np.any(np.asarray(run_variance) < 0):
        # an (unbiased, hence possibly negative) run-level estimate made the covariance
        # singular: use it clamped at 0
        return heterogeneity_test(v, Z=Z, cov=cov, n_units=n_units, groups=groups,
                                  run_variance=np.maximum(run_variance, 0.0),
                                  run_terms=run_terms, confidence_level=confidence_level,
                                  tau_scale=tau_scale, n_null=n_null, rng=rng)
    z = V.T @ (C @ v)
    keep = lam > tol
    notes = []
    s = float(tau_scale)
    if not keep.all():
        # directions without example noise: artifacts equal on every example (e.g. an
        # intervention that changes no prediction of these seeds)
        zn = np.abs(z[~keep])
        if np.any(zn > 1e-12 * max(1.0, float(np.abs(v).max()))):
            out = Heterogeneity(True, float("inf"), (float(k), float(J - k)), 0.0, float("nan"),
                                (float("nan"), float("nan")), m, J, confidence_level,
                                run_variance=rv, method="units" if Z is not None else "replicates")
            out.notes.append("some artifacts differ without any example noise (their "
                             "per-example scores differ by a constant): they differ for certain")
            return out
        notes.append(f"{int((~keep).sum())} of {k} contrasts between artifacts have no example "
                     "noise and no difference (artifacts with the same score on every example); "
                     f"the test uses the other {int(keep.sum())}")
        lam, z = lam[keep], z[keep]
        k = len(lam)
        if k == 0:
            out = Heterogeneity(True, 0.0, (0.0, float(J)), 1.0, 0.0, (0.0, 0.0), m, J,
                                confidence_level, run_variance=rv,
                                method="units" if Z is not None else "replicates")
            out.notes.extend(notes)
            return out
    df2 = float(J - k)  # Hotelling: T^2 (J - k) / (k (J - 1)) ~ F(k, J - k)
    if rel > 0:
        v_tot = float(np.sum(lam)) / k
        if v_tot > 0:
            df2 = 1.0 / (1.0 / (J - k) + rel / v_tot ** 2)
    z2 = z * z

    def Q(t2):
        return float(np.sum(z2 / (lam + t2)))

    scale = (J - k) / (k * (J - 1))
    q0 = Q(0.0)
    if run_terms:
        Ck = V[:, keep].T @ C  # the contrasts the test uses (orthonormal rows)
        Sig_ex = Sigma - np.diag(np.broadcast_to(np.asarray(run_variance, float), (m,)))
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        p = _null_pvalue(q0, Ck, Sig_ex, J, run_terms, int(n_null), gen)
        p_how = (f"parametric bootstrap of the null ({int(n_null)} draws: contrasts, the "
                 "example covariance (Wishart) and the runs' mean squares redrawn)")
    else:
        p = float(fdist.sf(q0 * scale, k, df2))
        p_how = f"Hotelling: Q (J - k) / (k (J - 1)) ~ F({k}, {J - k})"
    # moment estimate: E sum (v - mean)^2 = (m-1) tau^2 + tr(C Sigma C') per group
    resid = float(np.sum(z2))  # = |C v|^2 = sum of within-group squared deviations
    tau2 = max(0.0, (resid - float(np.sum(lam))) / k)
    # Q-profile interval: Q(tau^2) * scale between the F quantiles
    a = 1 - confidence_level
    hi_q = float(fdist.ppf(1 - a / 2, k, df2)) / scale
    lo_q = float(fdist.ppf(a / 2, k, df2)) / scale

    def root(target):
        if q0 <= target:
            return 0.0
        lo, hi = 0.0, max(resid / k, lam.max(), 1e-300)
        while Q(hi) > target:
            hi *= 4.0
        from scipy.optimize import brentq

        return float(brentq(lambda t: Q(t) - target, lo, hi, xtol=1e-14 * hi + 1e-300))

    t_lo, t_hi = root(hi_q), root(lo_q)
    out = Heterogeneity(True, q0, (float(k), float(df2)), p, s * np.sqrt(tau2),
                        (s * np.sqrt(t_lo), s * np.sqrt(t_hi)), m, J, confidence_level,
                        run_variance=rv, method="units" if Z is not None else "replicates")
    out.notes.extend(notes)
    out.pvalue_method = p_how
    return out


# ----------------------------------------------------------------------------------------------
# from the analysis' matrices


def _linear_scores(m, metric: str, units_index, n_units):
    """(n_units, n_runs) per-unit sums of a mean-type metric's per-example score, or None."""
    from multiberts_stats.metrics import get_metric
    from multiberts_stats.metrics.vectorised import Accuracy, Error, Mean

    if not isinstance(metric, str):
        from multiberts_stats.metrics import vec_name_for_callable

        metric = vec_name_for_callable(metric)  # e.g. sklearn's accuracy_score -> "accuracy"
        if metric is None:
            return None
    vm = get_metric(metric).vectorised
    if not isinstance(vm, (Accuracy, Mean)):
        return None
    ex = {c: m.example_column(c) for c in vm.ex_cols}
    run = {c: m.matrix(c) for c in vm.run_cols}
    S = np.asarray(vm.unit_stats(ex, run, units_index, n_units), float)[..., 0]
    if isinstance(vm, Error):
        sizes = np.ones(n_units) if units_index is None else np.bincount(units_index, minlength=n_units)
        S = sizes[:, None] - S
    return S


def _units(m, cluster_col):
    if cluster_col is None:
        return None, m.n_examples, np.ones(m.n_examples)
    import pandas as pd

    codes, _ = pd.factorize(m.example_column(cluster_col), sort=True)
    codes = codes.astype(np.int64)
    n = int(codes.max()) + 1
    return codes, n, np.bincount(codes, minlength=n).astype(float)


def _seed_blocks(m, seed_col, S, seeds, sizes):
    """Per seed: the seed's run-averaged per-unit sums (J,), its runs' linearised scores
    (R, J) and its number of runs."""
    sv = m.seed_values(seed_col)
    J, N = len(sizes), sizes.sum()
    avg, runs, nr = [], [], []
    for s in seeds:
        rows = np.flatnonzero(sv == s)
        Y = S[:, rows].T  # (R, J) per-unit sums of each run
        avg.append(Y.mean(axis=0))
        theta = Y.sum(axis=1) / N
        runs.append((Y - theta[:, None] * sizes[None, :]) * (J / N) + theta[:, None])
        nr.append(len(rows))
    return np.array(avg), runs, np.array(nr, float)


def _paired_run_differences(base, expt, seed_col, seeds, rb, re_):
    """Per seed, the (R, J) differences of paired runs, or None when the runs do not pair.

    Runs pair when every seed has the same number of runs on both sides; they are matched by
    the run columns whose values inside the seed are distinct and the same set on both sides
    (e.g. ``finetune_seed``), else in their order. The mean of the paired differences is the
    seed's effect, so their spread inside the seed estimates its run-level variance whether or
    not the two sides' runs share anything (a fine-tuning seed's data order, say); treating the
    sides as independent would count a shared run offset twice.
    """
    bi, ei = base.run_info, expt.run_info
    sb, se = base.seed_values(seed_col), expt.seed_values(seed_col)
    scol_b, scol_e = base.seed_column(seed_col), expt.seed_column(seed_col)
    shared = [c for c in bi.columns if c in ei.columns and c not in (scol_b, scol_e)]
    out = []
    for s, yb, ye in zip(seeds, rb, re_):
        if len(yb) != len(ye):
            return None
        if len(yb) < 2:
            out.append(ye - yb)
            continue
        rows_b, rows_e = np.flatnonzero(sb == s), np.flatnonzero(se == s)
        keys = [c for c in shared
                if bi[c].iloc[rows_b].is_unique
                and set(bi[c].iloc[rows_b].tolist()) == set(ei[c].iloc[rows_e].tolist())]
        if keys:
            ob = np.argsort(bi[keys[0]].iloc[rows_b].to_numpy(), kind="stable")
            oe = np.argsort(ei[keys[0]].iloc[rows_e].to_numpy(), kind="stable")
            out.append(ye[oe] - yb[ob])
        else:
            out.append(ye - yb)
    return out


def artifact_heterogeneity(sides, design, pairs, *, metric, seed_col, cluster_col,
                           confidence_level, results=None, quantity="delta"):
    """The heterogeneity test of one report, from its parsed sides.

    Mean-type metrics (accuracy, error, mean, exact_match, squad_f1) use the closed form from
    per-unit scores, with the fine-tuning-run component when a seed has several runs; other
    metrics use the covariance of the per-artifact examples-only replicates (which share one
    example draw). Returns a :class:`Heterogeneity` (``defined=False`` with a reason when it
    cannot be computed).
    """
    base, expt = sides.base, sides.expt
    idx, J, sizes = _units(base, cluster_col)
    level = confidence_level
    n_art = len(pairs)
    Sb = _linear_scores(base, metric, idx, J)
    if Sb is not None:
        Se = None if expt is None else _linear_scores(expt, metric, idx, J)
        b_seeds = sorted({b for _, b, _ in pairs if b is not None}) or sides.base_seeds
        Yb, rb, nb = _seed_blocks(base, seed_col, Sb, b_seeds, sizes)
        comps = []
        if expt is None:  # one procedure: the seeds' scores
            Y, groups, scale = Yb, None, 1.0
            comps = [(run_offset_variance(rb), nb)]
        elif design == "paired":
            seeds = [b for _, b, _ in pairs]
            Yb, rb, nb = _seed_blocks(base, seed_col, Sb, seeds, sizes)
            Ye, re_, ne = _seed_blocks(expt, seed_col, Se, seeds, sizes)
            Y, groups, scale = Ye - Yb, None, 1.0
            diff = _paired_run_differences(base, expt, seed_col, seeds, rb, re_)
            if diff is not None:  # runs pair up: the run-level variance of the difference
                comps = [(run_offset_variance(diff), nb)]
            else:
                comps = [(run_offset_variance(rb), nb), (run_offset_variance(re_), ne)]
        elif design == "fixed_baseline":  # the baseline is common to every artifact: it cancels
            seeds = [e for _, _, e in pairs]
            Ye, re_, ne = _seed_blocks(expt, seed_col, Se, seeds, sizes)
            Y, groups, scale = Ye - Yb.mean(axis=0), None, 1.0
            comps = [(run_offset_variance(re_), ne)]
        else:  # unpaired: equal scores within each side; tau of a pair is sqrt(2) x per seed
            e_seeds = sorted({e for _, _, e in pairs})
            Ye, re_, ne = _seed_blocks(expt, seed_col, Se, e_seeds, sizes)
            Y = np.vstack([Yb, Ye])
            groups = np.r_[np.zeros(len(Yb), int), np.ones(len(Ye), int)]
            scale = np.sqrt(2.0)
            comps = [(run_offset_variance(rb), np.r_[nb, np.zeros(len(Ye))]),
                     (run_offset_variance(re_), np.r_[np.zeros(len(Yb)), ne])]
        v, Z = linearised_units(Y, sizes)
        if len(v) < 2:
            return _undefined(len(v), J, level, f"heterogeneity needs at least two artifacts "
                              f"(this report has {n_art})")
        rv, terms = run_noise(comps)
        h = heterogeneity_test(v, Z=Z, groups=groups, run_variance=rv, run_terms=terms,
                               confidence_level=level, tau_scale=scale)
        if rv is not None:
            h.notes.append("fine-tuning runs: a run-level variance of "
                           f"{max(float(np.mean(rv)), 0.0):.3g} per artifact was estimated "
                           "from the runs inside each seed and added to example noise")
        return h
    # metrics that do not decompose: covariance of examples-only replicates on shared draws
    if n_art < 2:
        return _undefined(n_art, J, level, f"heterogeneity needs at least two artifacts "
                          f"(this report has {n_art})")
    if design == "unpaired":
        return _undefined(n_art, J, level, "heterogeneity of an unpaired design is offered for "
                          "mean-type metrics (accuracy, error, mean, exact_match, squad_f1) only")
    R = np.column_stack([results[label].delta_distribution if quantity == "delta"
                         else np.asarray(results[label].distribution, float)[:, 0]
                         for label, _, _ in pairs])
    R = R[np.all(np.isfinite(R), axis=1)]
    v = np.array([results[label].estimate[quantity] for label, _, _ in pairs], float)
    B = len(R)
    if B < 2 * n_art:
        return _undefined(n_art, J, level, f"heterogeneity needs at least {2 * n_art} defined "
                          f"replicates for {n_art} artifacts (got {B}); raise nboot")
    cov = np.cov(R, rowvar=False)
    n_eff = int(1 + 1 / (1 / (J - 1) + 1 / (B - 1)))
    h = heterogeneity_test(v, cov=cov, n_units=n_eff, confidence_level=level)
    h.notes.append(f"covariance from {B} examples-only replicates shared by every artifact "
                   f"(metric does not decompose; fine-tuning run variation not separated)")
    return h
