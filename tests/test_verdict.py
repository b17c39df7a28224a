"""The calibrated artifact-vs-procedure verdict: multiplicity, heterogeneity, tau, categories."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _analysis_data import base_correct, tidy
from scipy.stats import binomtest
from scipy.stats import f as fdist

from multiberts_stats import analysis as A
from multiberts_stats.analysis.calibration import (analyse_paired, calibration_study,
                                                   simulate_paired)
from multiberts_stats.analysis.heterogeneity import (Heterogeneity, heterogeneity_test, helmert,
                                                     run_offset_variance)
from multiberts_stats.analysis.verdict import CATEGORIES, decide
from multiberts_stats.errors import InputError

NB = 200


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _tables(effects_share, seed=0, n_seeds=6, n_ex=400, runs=1):
    """Paired tables: seed s flips a share effects_share[s] of its wrong predictions."""
    from _analysis_data import improve

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_ex).astype(float)
    c0 = np.vstack([base_correct(rng, n_seeds, n_ex) for _ in range(runs)])
    c1 = improve(c0, rng, np.tile(effects_share, runs))
    seeds = list(range(n_seeds)) * runs
    ft = np.repeat(np.arange(runs), n_seeds)
    return (tidy(c0, labels, seeds=seeds, step=0, finetune_seeds=ft),
            tidy(c1, labels, seeds=seeds, step=2000, finetune_seeds=ft))


# ---- the heterogeneity test, hand-checked ---------------------------------------------------

def test_heterogeneity_is_hotellings_t2_for_repeated_measures():
    rng = np.random.default_rng(0)
    S, J = 6, 80
    Z = rng.normal(0, 1, (1, J)) + rng.normal(0, 0.5, (S, J)) + np.arange(S)[:, None] * 0.05
    d = Z.mean(axis=1)
    h = heterogeneity_test(d, Z=Z)
    # textbook: differences from the last seed, T^2 = J dbar' S^-1 dbar
    X = (Z[:-1] - Z[-1]).T  # (J, S-1)
    xbar = X.mean(axis=0)
    T2 = J * xbar @ np.linalg.solve(np.cov(X, rowvar=False), xbar)
    k = S - 1
    assert h.statistic == pytest.approx(T2, rel=1e-10)
    assert h.df == (k, J - k)
    assert h.pvalue == pytest.approx(fdist.sf(T2 * (J - k) / (k * (J - 1)), k, J - k), rel=1e-10)
    # any orthonormal contrasts give the same statistic
    C = helmert(S)
    assert np.allclose(C @ C.T, np.eye(k)) and np.allclose(C.sum(axis=1), 0)


def test_tau_moment_estimate_and_q_profile_interval():
    rng = np.random.default_rng(1)
    S, J = 10, 300
    Z = rng.normal(0, 1, (S, J)) + rng.normal(0, 0.3, (S, 1))  # tau = 0.3 planted
    d = Z.mean(axis=1)
    h = heterogeneity_test(d, Z=Z, confidence_level=0.9)
    Zc = Z - d[:, None]
    Sigma = Zc @ Zc.T / (J * (J - 1))
    P = np.eye(S) - 1 / S
    tau2 = (np.sum((d - d.mean()) ** 2) - np.trace(P @ Sigma)) / (S - 1)
    assert h.tau == pytest.approx(np.sqrt(max(tau2, 0)), rel=1e-9)
    lo, hi = h.tau_ci
    assert lo < h.tau < hi
    # at the bounds, Q(tau^2) sits on the F quantiles
    k, df2 = h.df
    scale = (J - k) / (k * (J - 1))
    C = helmert(S)

    def Q(t):
        A_ = C @ (Sigma + t * t * np.eye(S)) @ C.T
        y = C @ d
        return y @ np.linalg.solve(A_, y)

    assert Q(hi) * scale == pytest.approx(fdist.ppf(0.05, k, df2), rel=1e-6)
    assert Q(lo) * scale == pytest.approx(fdist.ppf(0.95, k, df2), rel=1e-6)


def test_run_offset_variance_anova():
    rng = np.random.default_rng(2)
    runs = [rng.normal(0, 1, (3, 200)) + rng.normal(0, 0.2, (3, 1)) for _ in range(40)]
    r = run_offset_variance(runs)
    assert r["df_run"] == 80 and r["df_res"] == 80 * 199
    assert r["variance"] == pytest.approx(0.04, abs=0.015)
    assert run_offset_variance([np.zeros((1, 5))])["df_run"] == 0


def test_heterogeneity_undefined_cases_say_why():
    h = heterogeneity_test(np.array([0.1]), Z=np.ones((1, 10)))
    assert not h.defined and "two artifacts" in h.reason and np.isnan(h.pvalue)
    h = heterogeneity_test(np.zeros(6), Z=np.random.default_rng(0).normal(size=(6, 4)))
    assert not h.defined and "more resampling units" in h.reason


def test_decision_rule_table():
    sig = Heterogeneity(True, 50.0, (4.0, 100.0), 0.001, 0.1, (0.05, 0.2), 5, 104, 0.95)
    ns = Heterogeneity(True, 2.0, (4.0, 100.0), 0.7, 0.0, (0.0, 0.05), 5, 104, 0.95)
    und = Heterogeneity(False, *[np.nan] * 2, np.nan, np.nan, (np.nan, np.nan), 1, 104, 0.95)
    none5 = ["none"] * 5
    assert decide("positive", ns, 0.05, none5) == ("procedure_consistent", False)
    assert decide("positive", sig, 0.05, none5) == ("procedure_heterogeneous", False)
    assert decide("positive", sig, 0.05, ["negative"] + none5[1:]) == \
        ("procedure_heterogeneous", True)
    assert decide("none", sig, 0.05, none5) == ("artifact_only", True)
    assert decide("none", ns, 0.05, ["positive"] + none5[1:]) == ("no_evidence", False)
    assert decide("negative", und, 0.05, ["none"]) == ("procedure_untested", False)
    assert set(CATEGORIES) >= {"procedure_consistent", "procedure_heterogeneous",
                               "artifact_only", "no_evidence"}


# ---- the report -----------------------------------------------------------------------------

def _null_report(seed, n_seeds=8, n_ex=300, **kw):
    rng = np.random.default_rng(seed)
    runs = simulate_paired(rng, n_seeds, n_ex, 1, np.zeros(n_seeds))
    labels = rng.integers(0, 2, n_ex).astype(float)
    seeds = list(range(n_seeds))
    b, e = (tidy(runs[k][0].astype(bool), labels, seeds=seeds, step=st)
            for k, st in (("base", 0), ("expt", 1)))
    return b, e, quiet(A.artifact_vs_procedure, b, e, design="paired", **kw)


@pytest.mark.parametrize("correction,sm", [("holm", "holm"), ("bh", "fdr_bh"), (None, None)])
def test_adjusted_pvalues_equal_statsmodels(correction, sm):
    from statsmodels.stats.multitest import multipletests

    base, expt = _tables(np.array([0.5, 0.3, 0.0, 0.02, 0.0, 0.1]), seed=1)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                correction=correction, decompose=False)
    p = rep.artifacts["p_value"].to_numpy()
    want = p if sm is None else multipletests(p, method=sm)[1]
    np.testing.assert_allclose(rep.artifacts["p_adjusted"], want, rtol=0, atol=1e-12)
    sig = rep.artifacts["p_adjusted"] <= rep.alpha
    assert (rep.artifacts["verdict_adjusted"] != "none").tolist() == sig.tolist()
    v = rep.verdict.iloc[0]
    assert v.n_positive_adjusted == int((rep.artifacts.verdict_adjusted == "positive").sum())
    assert v.correction == correction and rep.correction == correction
    counts = rep.counts_table()
    assert counts.shape == (2, 5) and counts["of"].tolist() == [6, 6]
    assert counts.iloc[0]["positive"] == v.n_positive
    md = rep.to_markdown()
    assert "adjusted (" + ("not adjusted" if correction is None else correction) + ")" in md


def test_report_heterogeneity_equals_the_test_on_the_tables():
    base, expt = _tables(np.array([0.4, 0.3, 0.35, 0.1, 0.3, 0.5]), seed=2)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                decompose=False)
    acc = {k: t.assign(c=(t.prediction == t.label).astype(float))
           .pivot_table(index="pretrain_seed", columns="example_id", values="c")
           for k, t in (("base", base), ("expt", expt))}
    D = (acc["expt"] - acc["base"]).to_numpy()
    h = heterogeneity_test(D.mean(axis=1), Z=D)
    assert rep.heterogeneity.pvalue == pytest.approx(h.pvalue, rel=1e-9)
    assert rep.heterogeneity.statistic == pytest.approx(h.statistic, rel=1e-9)
    assert rep.tau == pytest.approx(h.tau, rel=1e-9) and rep.tau_ci == pytest.approx(h.tau_ci)
    assert rep.heterogeneity.significant(0.05)  # planted: shares 0.1 to 0.5 of the errors
    v = rep.verdict.iloc[0]
    assert v.heterogeneity_p == pytest.approx(h.pvalue) and v.category == rep.category
    assert rep.category == "procedure_heterogeneous" and not rep.disagrees
    assert rep.flag.startswith("Procedure-level effect, artifacts heterogeneous")
    for out in (rep.summary(), rep.to_markdown()):
        assert "Heterogeneity" in out and f"{h.pvalue:.3g}" in out
    d = rep.to_dict()
    assert d["category"] == rep.category and d["heterogeneity"]["pvalue"] == pytest.approx(
        h.pvalue)


def test_fine_tuning_runs_enter_the_heterogeneity_test():
    base, expt = _tables(np.array([0.3] * 6), seed=3, runs=2)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                decompose=False)
    h = rep.heterogeneity
    assert h.defined and h.pvalue_method.startswith("parametric bootstrap")
    assert any("fine-tuning runs" in n for n in rep.notes)
    assert "parametric bootstrap of the null" in rep.summary()
    # the ANOVA by hand on the paired runs' differences (runs matched by finetune_seed)
    acc = {k: t.assign(c=(t.prediction == t.label).astype(float))
           for k, t in (("base", base), ("expt", expt))}
    diffs = []
    for s in range(6):
        m = {k: a[a.pretrain_seed == s].pivot_table(index="finetune_seed", columns="example_id",
                                                    values="c").to_numpy()
             for k, a in acc.items()}
        diffs.append(m["expt"] - m["base"])
    r = run_offset_variance(diffs)
    assert r["df_run"] == 6 and r["df_res"] == 6 * 399
    assert h.run_variance == pytest.approx(r["variance"] / 2, rel=1e-9)
    # the pairing follows finetune_seed, not the order of the rows
    shuffled = expt.sample(frac=1.0, random_state=0)
    rep2 = quiet(A.artifact_vs_procedure, base, shuffled, design="paired", nboot=NB, rng=0,
                 decompose=False)
    assert rep2.heterogeneity.pvalue == pytest.approx(h.pvalue)
    assert rep2.heterogeneity.run_variance == pytest.approx(h.run_variance)
    # unequal numbers of runs: the sides' run variances add (independent runs)
    one_run = expt[expt.finetune_seed == 0]
    rep3 = quiet(A.artifact_vs_procedure, base, one_run, design="paired", nboot=NB, rng=0,
                 decompose=False)
    assert rep3.heterogeneity.defined


def test_disagrees_is_not_the_count_of_raw_rejections():
    # a global null where some single-artifact intervals exclude 0 by chance: the old rule
    # flagged it; the calibrated rule does not
    for seed in range(20):
        _, _, rep = _null_report(seed, nboot=NB, rng=seed, decompose=False)
        v = rep.verdict.iloc[0]
        if v.n_positive + v.n_negative > 0 and rep.category == "no_evidence":
            break
    else:  # pragma: no cover
        pytest.fail("no null report with a raw per-artifact rejection")
    assert not rep.disagrees
    assert rep.flag.startswith("No evidence either way")
    assert rep.to_frame().attrs["disagrees"] is False


def test_planted_artifact_only_effect_is_reported_as_such():
    base, expt = _tables(np.array([0.6, 0.0, 0.3, 0.0, 0.0, 0.0]), seed=4)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                decompose=False)
    assert rep.procedure_verdict == "none"
    assert rep.category == "artifact_only" and rep.disagrees
    assert rep.category_label == CATEGORIES["artifact_only"]
    assert rep.flag.startswith("Artifact-level finding only") and "seed 0" in rep.flag


def test_one_artifact_heterogeneity_undefined_is_said():
    base, expt = _tables(np.array([0.4]), seed=5, n_seeds=1)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                decompose=False)
    assert not rep.heterogeneity.defined and np.isnan(rep.tau)
    assert "two artifacts" in rep.heterogeneity.reason
    assert rep.category in ("procedure_untested", "no_evidence")
    for out in (rep.summary(), rep.to_markdown(), rep.flag):
        assert "undefined" in out or "cannot be tested" in out
    assert any("Heterogeneity undefined" in n for n in rep.notes)


def test_bad_correction_and_alpha_are_clear_errors():
    base, expt = _tables(np.array([0.3, 0.3]), seed=6, n_seeds=2, n_ex=50)
    for bad in ("bonferroni", "Holm", 1, True):
        with pytest.raises(InputError, match=r"`correction` parameter of artifact_vs_procedure "
                                             r"must be one of 'holm', 'bh' or None.*Got "
                                             + repr(bad).replace("(", r"\(")):
            A.artifact_vs_procedure(base, expt, correction=bad, nboot=10)
    for bad in (0, 1, 1.5, -0.1, 0.0):
        with pytest.raises(InputError, match=r"`alpha` parameter of artifact_vs_procedure must "
                                             r"be a number in \(0, 1\)\. Got " + repr(bad)):
            A.artifact_vs_procedure(base, expt, alpha=bad, nboot=10)


def test_nboot_too_small_for_the_adjustment_warns():
    from multiberts_stats.errors import SmallNbootWarning

    base, expt = _tables(np.full(25, 0.3), seed=13, n_seeds=25, n_ex=60)
    with pytest.warns(SmallNbootWarning, match=r"nboot=100.*2/\(nboot\+1\) = 0.0198.*"
                                               r"0.05/25 = 0.002"):
        rep = A.artifact_vs_procedure(base, expt, design="paired", nboot=100, rng=0,
                                      decompose=False)
    assert any("0.05/25" in w for w in rep.warnings)
    assert (rep.artifacts.verdict_adjusted == "none").all()
    plain = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=100, rng=0,
                  decompose=False, correction=None)  # no adjustment: no floor to warn about
    assert not any("0.05/25" in w for w in plain.warnings)


def test_variance_decomposition_with_corrected_method():
    base, expt = _tables(np.full(6, 0.3), seed=14)
    d = quiet(A.variance_decomposition, base, expt, design="paired", nboot=50, rng=0,
              method="corrected")
    assert d.results["joint"].method == "corrected" and d.seeds > 0 and d.examples > 0


def test_corrected_method_throughout_the_report():
    base, expt = _tables(np.array([0.3, 0.25, 0.3, 0.35, 0.3, 0.3]), seed=7)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                method="corrected")
    assert rep.procedure.method == "corrected"
    assert all(r.method == "percentile" for r in rep.artifact_results.values())
    note = [n for n in rep.notes if "method='corrected'" in n]
    assert note and note[0] in rep.summary() and note[0] in rep.to_markdown()
    # the procedure's p-value is the corrected t test, agreeing with its interval
    lo, hi = rep.procedure_ci
    assert (rep.procedure_pvalue <= rep.alpha) == (lo > 0 or hi < 0)
    assert rep.decomposition is not None


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_pvalue_columns_agree_with_the_interval_method(method):
    base, expt = _tables(np.array([0.05, 0.1, 0.0, 0.15, 0.08, 0.02]), seed=8)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=400, rng=0,
                method=method, decompose=False, correction=None)
    a = rep.artifacts
    assert ((a.p_value <= rep.alpha) == (a.verdict != "none")).all(), a
    one = quiet(A.artifact_vs_procedure, base, nboot=400, rng=0, null=0.7, method=method,
                decompose=False, correction=None)
    a = one.artifacts
    assert ((a.p_value <= one.alpha) == (a.verdict != "none")).all(), a


def test_calibration_analysis_is_the_report_rule():
    """The simulation's vectorised analysis gives the report's heterogeneity test and
    category on the same data."""
    rng = np.random.default_rng(9)
    S, J = 6, 200
    runs = simulate_paired(rng, S, J, 2, np.array([0.4, -0.4, 0.2, 0.0, -0.2, 0.0]))
    labels = np.ones(J)
    seeds = list(range(S)) * 2
    ft = np.repeat([0, 1], S)
    b, e = (tidy(runs[k].reshape(2 * S, J).astype(bool), labels, seeds=seeds, step=st,
                 finetune_seeds=ft) for k, st in (("base", 0), ("expt", 1)))
    rep = quiet(A.artifact_vs_procedure, b, e, design="paired", nboot=NB, rng=0,
                decompose=False)
    sim = analyse_paired(runs, np.random.default_rng(0), nboot=NB)
    assert sim["het_p"] == pytest.approx(rep.heterogeneity.pvalue, rel=1e-9)
    assert sim["tau"] == pytest.approx(rep.tau, rel=1e-9)


# ---- calibration in simulation (smaller than benchmarks/verdict_calibration.py) ------------

@pytest.mark.slow
def test_global_null_claims_artifact_level_findings_at_most_alpha():
    for seeds in (25, 5):
        r = calibration_study("null", n_seeds=seeds, n_experiments=200, nboot=200, rng=seeds)
        c, n = r["counts"], r["n"]
        for key in ("artifact_only", "disagrees", "het_reject"):
            assert binomtest(c[key], n, 0.05, alternative="greater").pvalue > 0.01, (seeds, c)
        assert c["old_rule"] / n > 0.15  # what the uncorrected rule did


@pytest.mark.slow
def test_planted_effects_power_and_constant_effect():
    r = calibration_study("artifact", n_seeds=25, size=0.6, n_experiments=100, nboot=200, rng=1)
    k = r["counts"]["artifact_only"]
    assert binomtest(k, r["n"], 0.8, alternative="less").pvalue > 0.01
    r = calibration_study("constant", n_seeds=25, size=0.12, n_experiments=200, nboot=200,
                          rng=2)
    c, n = r["counts"], r["n"]
    assert binomtest(c["artifact_only"], n, 0.05, alternative="greater").pvalue > 0.01
    assert c["procedure_effect"] / n > 0.2


# ---- the other designs, clusters and metrics that do not decompose ---------------------------

def _acc_matrix(t):
    return (t.assign(c=(t.prediction == t.label).astype(float))
            .pivot_table(index="pretrain_seed", columns="example_id", values="c").to_numpy())


def test_single_fixed_baseline_and_unpaired_heterogeneity():
    base, expt = _tables(np.array([0.4, 0.1, 0.3, 0.0, 0.2, 0.5]), seed=10)
    # one procedure alone: the seeds' scores
    one = quiet(A.artifact_vs_procedure, base, nboot=NB, rng=0, null=0.5, decompose=False)
    Y = _acc_matrix(base)
    h = heterogeneity_test(Y.mean(axis=1), Z=Y)
    assert one.heterogeneity.pvalue == pytest.approx(h.pvalue, rel=1e-9)
    # fixed baseline: the baseline is common to every artifact and cancels
    fb = quiet(A.artifact_vs_procedure, base[base.pretrain_seed == 0], expt,
               design="fixed_baseline", nboot=NB, rng=0, decompose=False)
    Ye = _acc_matrix(expt)
    h = heterogeneity_test(Ye.mean(axis=1), Z=Ye)
    assert fb.heterogeneity.pvalue == pytest.approx(h.pvalue, rel=1e-9)
    # unpaired: contrasts within each side, tau of a pair = sqrt(2) x per seed
    other = expt.assign(pretrain_seed=expt.pretrain_seed + 10)
    un = quiet(A.artifact_vs_procedure, base, other, design="unpaired", nboot=20, rng=0,
               decompose=False)
    Z = np.vstack([Y, Ye])
    h = heterogeneity_test(Z.mean(axis=1), Z=Z, groups=np.repeat([0, 1], 6),
                           tau_scale=np.sqrt(2))
    assert un.heterogeneity.df == h.df == (10.0, 390.0)
    assert un.heterogeneity.pvalue == pytest.approx(h.pvalue, rel=1e-9)
    assert un.tau == pytest.approx(h.tau, rel=1e-9)


def test_clusters_are_the_units_of_the_heterogeneity_test():
    base, expt = _tables(np.array([0.4, 0.1, 0.3, 0.0, 0.2, 0.5]), seed=11, n_ex=240)
    cl = {f"ex{i:05d}": f"c{i // 6}" for i in range(240)}  # 40 clusters of 6
    base, expt = (t.assign(group=t.example_id.map(cl)) for t in (base, expt))
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=NB, rng=0,
                cluster_col="group", decompose=False)
    assert rep.heterogeneity.n_units == 40 and rep.heterogeneity.df == (5.0, 35.0)
    D = _acc_matrix(expt) - _acc_matrix(base)  # equal cluster sizes: cluster means
    Zc = D.reshape(6, 40, 6).mean(axis=2)
    h = heterogeneity_test(Zc.mean(axis=1), Z=Zc)
    assert rep.heterogeneity.pvalue == pytest.approx(h.pvalue, rel=1e-9)


def test_sklearn_accuracy_takes_the_closed_form():
    from sklearn.metrics import accuracy_score

    base, expt = _tables(np.array([0.4, 0.1, 0.3, 0.0, 0.2, 0.5]), seed=15)
    a = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=50, rng=0,
              decompose=False)
    b = quiet(A.artifact_vs_procedure, base, expt, design="paired", nboot=50, rng=0,
              decompose=False, metric=accuracy_score)
    assert b.heterogeneity.method == "units"
    assert b.heterogeneity.pvalue == pytest.approx(a.heterogeneity.pvalue, rel=1e-12)


def test_metric_that_does_not_decompose_uses_shared_replicates():
    base, expt = _tables(np.array([0.4, 0.1, 0.3, 0.0, 0.2, 0.5]), seed=12)
    rep = quiet(A.artifact_vs_procedure, base, expt, design="paired", metric="spearman",
                nboot=100, rng=0, decompose=False)
    h = rep.heterogeneity
    assert h.defined and h.method == "replicates"
    assert any("examples-only replicates" in n for n in rep.notes)
    # every artifact draws the same examples: a copy of seed 0 under another seed number gets
    # exactly seed 0's replicates
    b2, e2 = (pd.concat([t, t[t.pretrain_seed == 0].assign(pretrain_seed=9)])
              for t in (base, expt))
    rep2 = quiet(A.artifact_vs_procedure, b2, e2, design="paired", metric="spearman",
                 nboot=50, rng=0, decompose=False)
    r = rep2.artifact_results
    np.testing.assert_array_equal(r["seed 0"].delta_distribution,
                                  r["seed 9"].delta_distribution)
