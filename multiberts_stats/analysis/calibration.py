"""Simulated calibration of the artifact-vs-procedure verdict (docs/statistics.md).

Paired experiments with binary outcomes in a crossed model: ``n_seeds`` pretraining seeds,
``n_runs`` fine-tuning runs per seed and side, ``n_examples`` examples shared by every seed::

    logit P(correct) = mu + a_s + b_j + u_sr - c_j / 2              (base)
    logit P(correct) = mu + a_s + b_j + u_sr + c_j / 2 + delta_s    (experiment)

a_s ~ N(0, sd_seed²) seed effects shared by both sides, b_j ~ N(0, sd_example²) example
difficulty, c_j ~ N(0, sd_example_effect²) an intervention x example effect that is the same in
every seed (so the per-seed effects are correlated through the shared examples; split
symmetrically between the sides, so that with delta = 0 the expected difference is exactly 0
in every seed: c and -c have the same distribution), u_sr ~ N(0, sd_run²) a fine-tuning-run
offset drawn per run and side; one Bernoulli draw per run and example.
``delta_s`` is the planted per-seed effect: 0 (global null), a constant (procedure effect), or
"artifact-only": normal draws centred and scaled to mean exactly 0 and sd exactly ``sd``.

Each experiment is analysed as :func:`~multiberts_stats.analysis.artifact_vs_procedure` does
with a paired design, vectorised: one joint bootstrap for the procedure (a seed draw and an
example draw shared by both sides; percentile or ``corrected`` interval), examples-only
replicates of every seed from one example draw (the per-artifact intervals; two-sided p-values
2(1+k)/(nboot+1)), the multiplicity adjustment, the heterogeneity test and the decision rule of
the report, all from the same functions the report uses.
"""

from __future__ import annotations

import numpy as np

from .heterogeneity import heterogeneity_test, run_noise, run_offset_variance
from .verdict import decide

__all__ = ["simulate_paired", "analyse_paired", "calibration_study", "planted_effects"]


def planted_effects(kind: str, rng, n_seeds: int, size: float) -> np.ndarray:
    """Per-seed logit effects: "null" (0), "constant" (``size`` everywhere) or "artifact"
    (mean exactly 0, sd exactly ``size``)."""
    if kind == "null":
        return np.zeros(n_seeds)
    if kind == "constant":
        return np.full(n_seeds, float(size))
    if kind == "artifact":
        z = rng.normal(0, 1, n_seeds)
        z -= z.mean()
        return z / z.std(ddof=1) * size
    raise ValueError(f"kind must be 'null', 'constant' or 'artifact'. Got {kind!r}.")


def simulate_paired(rng, n_seeds: int, n_examples: int, n_runs: int, effects, *, mu=1.0,
                    sd_seed=0.3, sd_example=1.0, sd_example_effect=0.5, sd_run=0.0) -> dict:
    """0/1 correctness arrays ``{"base", "expt"}`` of shape (n_runs, n_seeds, n_examples)."""
    from scipy.special import expit

    a = rng.normal(0, sd_seed, (n_seeds, 1))
    b = rng.normal(0, sd_example, (1, n_examples))
    c = rng.normal(0, sd_example_effect, (1, n_examples))
    eff = np.asarray(effects, float).reshape(n_seeds, 1)
    out = {}
    for side, e in (("base", -c / 2), ("expt", eff + c / 2)):
        u = rng.normal(0, sd_run, (n_runs, n_seeds, 1)) if sd_run else 0.0
        out[side] = (rng.random((n_runs, n_seeds, n_examples)) < expit(mu + a + b + e + u)
                     ).astype(float)
    return out


def analyse_paired(runs: dict, rng, *, nboot=500, alpha=0.05, method="percentile",
                   correction="holm", n_null=1000) -> dict:
    """One simulated experiment analysed like the report (paired design, accuracy)."""
    from multiberts_stats.analysis.multiple_testing import adjust_pvalues
    from multiberts_stats.bootstrap.engine import counts_from_draws, seed_weights

    Yb, Ye = runs["base"].mean(axis=0), runs["expt"].mean(axis=0)
    S, J = Yb.shape
    R = runs["base"].shape[0]
    D = Ye - Yb
    d = D.mean(axis=1)
    V = counts_from_draws(rng.integers(0, J, (nboot, J)), J, np.float64) / J
    W = seed_weights(rng.integers(0, S, (nboot, S)), S)
    P = V @ D.T          # examples-only replicates of every seed (one shared example draw)
    q = [alpha / 2, 1 - alpha / 2]
    est = float(d.mean())
    if method == "corrected":
        from scipy.special import stdtrit

        from multiberts_stats.bootstrap.variance import variance_components

        comp = variance_components({"base": Yb - Yb.mean(), "expt": Ye - Ye.mean()},
                                   {"base": True, "expt": True}, "paired")["delta"]
        half = float(stdtrit(comp["df"], q[1]) * np.sqrt(comp["variance"]))
        lo, hi = est - half, est + half
    else:
        lo, hi = np.quantile((W * P).sum(axis=1), q)
    pv = "positive" if lo > 0 else "negative" if hi < 0 else "none"
    k = np.minimum((P <= 0).sum(axis=0), (P >= 0).sum(axis=0))
    p = np.minimum(1.0, 2 * (1 + k) / (nboot + 1))
    p_adj = p if correction is None else adjust_pvalues(p, correction)
    sign = np.where(d > 0, "positive", "negative")
    adjusted = np.where(p_adj <= alpha, sign, "none")
    raw = np.where(p <= alpha, sign, "none")
    # runs pair up (same number per seed on both sides): the run-level variance of the
    # difference, from the paired runs' differences, as the report does
    diff = (runs["expt"] - runs["base"]).transpose(1, 0, 2)
    rv, terms = run_noise([(run_offset_variance(list(diff)), np.full(S, R))])
    h = heterogeneity_test(d, Z=D, run_variance=rv, run_terms=terms,
                           confidence_level=1 - alpha, n_null=n_null)
    category, disagrees = decide(pv, h, alpha, adjusted)
    return {"category": category, "disagrees": disagrees, "procedure": pv,
            "het_reject": h.significant(alpha), "het_p": h.pvalue, "tau": h.tau,
            "tau_low": h.tau_ci[0], "tau_high": h.tau_ci[1],
            "n_adjusted": int((adjusted != "none").sum()), "n_raw": int((raw != "none").sum()),
            "old_rule": bool((raw != pv).any())}


def calibration_study(kind="null", *, n_seeds=25, n_examples=500, n_runs=2, size=0.0,
                      n_experiments=500, nboot=500, alpha=0.05, method="percentile",
                      correction="holm", sd_run=0.0, sd_example_effect=0.5, n_null=300,
                      rng=0) -> dict:
    """Shares of simulated reports per outcome, with the counts behind them.

    Returns ``{"counts": {...}, "n": n_experiments, "tau": array, "settings": {...}}``; counts
    are for ``artifact_only``, ``procedure_consistent``, ``procedure_heterogeneous``,
    ``no_evidence``, ``procedure_effect`` (either procedure category), ``het_reject``,
    ``disagrees``, ``any_adjusted`` (some artifact significant after adjustment), ``old_rule``
    (the uncorrected rule: some single-artifact verdict differs from the procedure's).
    """
    gen = np.random.default_rng(rng)
    keys = ("artifact_only", "procedure_consistent", "procedure_heterogeneous", "no_evidence",
            "procedure_effect", "het_reject", "disagrees", "any_adjusted", "old_rule")
    counts = dict.fromkeys(keys, 0)
    taus = []
    for _ in range(n_experiments):
        eff = planted_effects(kind, gen, n_seeds, size)
        runs = simulate_paired(gen, n_seeds, n_examples, n_runs, eff, sd_run=sd_run,
                               sd_example_effect=sd_example_effect)
        r = analyse_paired(runs, gen, nboot=nboot, alpha=alpha, method=method,
                           correction=correction, n_null=n_null)
        counts[r["category"]] = counts.get(r["category"], 0) + 1
        counts["procedure_effect"] += r["procedure"] != "none"
        counts["het_reject"] += r["het_reject"]
        counts["disagrees"] += r["disagrees"]
        counts["any_adjusted"] += r["n_adjusted"] > 0
        counts["old_rule"] += r["old_rule"]
        taus.append(r["tau"])
    return {"counts": counts, "n": n_experiments, "tau": np.array(taus),
            "settings": dict(kind=kind, n_seeds=n_seeds, n_examples=n_examples, n_runs=n_runs,
                             size=size, nboot=nboot, alpha=alpha, method=method,
                             correction=correction, sd_run=sd_run,
                             sd_example_effect=sd_example_effect, n_null=n_null)}
