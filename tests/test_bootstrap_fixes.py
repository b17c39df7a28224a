"""Engine fixes of issue #11: NaN-safe replicates, p-values on their grid agreeing with the
interval, `corrected` usable everywhere, undefined metrics as clear errors, report_ci on NaN."""

import warnings

import numpy as np
import pytest
from test_bootstrap_modern import make_tidy, make_winogender, plain_multiboot

from multiberts_stats import metrics, report_ci
from multiberts_stats.bootstrap import BootstrapInputError, multiboot
from multiberts_stats.errors import (DroppedSamplesWarning, FewClustersWarning,
                                     FixedBaselineWarning, SmallNbootWarning)


def _with_constant_run(df, seed, value=1.0):
    """One run of `seed` predicts a constant except on one example: its correlation is defined
    on the full data and undefined (NaN) on every draw that misses that example."""
    df = df.copy()
    m = (df.pretrain_seed == seed) & (df.finetune_seed == 0)
    df.loc[m, "prediction"] = np.where(df.loc[m, "example_id"] == "ex000", value + 1.0, value)
    return df


@pytest.mark.parametrize("metric,fn", [("pearson", metrics.pearson),
                                       ("spearman", metrics.spearman)])
def test_nan_run_in_an_undrawn_seed_leaves_the_replicate_alone(metric, fn):
    """Exact agreement with a plain loop on the same draws (regression test, issue #11)."""
    base = _with_constant_run(make_tidy(n_seeds=4, seed=1).assign(
        prediction=lambda d: d["score"]), seed=2)
    nboot = 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multiboot(base, metric=metric, nboot=nboot, rng=np.random.RandomState(3))
    want = plain_multiboot(base, None, "single", fn, ["label", "prediction"], nboot=nboot, seed=3)
    got = res.distribution
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-10)
    n_nan = int(np.isnan(want).sum())
    assert 0 < n_nan < nboot and n_nan == int(np.isnan(got).sum())
    assert any("replicates are NaN" in w for w in res.warnings)


def test_nan_counts_before_and_after_the_fix_are_reported():
    """The counts quoted in the report: NaN replicates in multiboot vs a plain loop."""
    base = _with_constant_run(make_tidy(n_seeds=25, n_ft=2, n_ex=40, seed=4).assign(
        prediction=lambda d: d["score"]), seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multiboot(base, metric="pearson", nboot=1000, rng=np.random.RandomState(0))
    want = plain_multiboot(base, None, "single", metrics.pearson, ["label", "prediction"],
                           nboot=1000, seed=0)
    assert int(np.isnan(res.distribution).sum()) == int(np.isnan(want).sum())


def test_pvalues_on_their_grid_and_floors():
    base, expt = make_tidy(seed=1, n_ex=60), make_tidy(seed=2, p=0.9, n_ex=60)
    r = multiboot(base, expt, design="paired", nboot=199, rng=0)
    d = r.delta_distribution
    assert np.sum(d <= 0) == 0  # a clear effect: the floors
    assert r.pvalue == 1 / 200 and r.pvalue_two_sided == 2 / 200
    assert "percentile" in r.pvalue_method
    null = multiboot(base, make_tidy(seed=3, n_ex=60), design="paired", nboot=199, rng=0)
    assert (null.pvalue_two_sided * 200 / 2) == pytest.approx(round(null.pvalue_two_sided * 100))
    assert null.pvalue_two_sided <= 1.0


@pytest.mark.parametrize("method,kw", [("percentile", {}), ("basic", {}),
                                       ("bca", {"sample_seeds": False}),
                                       ("corrected", {})])
def test_pvalues_agree_with_the_interval(method, kw):
    """Wherever the p-value is clearly below / above alpha, the interval says the same."""
    checked = 0
    for i, p in enumerate([0.7, 0.72, 0.74, 0.76, 0.8]):
        base, expt = make_tidy(seed=10 + i, n_ex=80), make_tidy(seed=30 + i, p=p, n_ex=80)
        r = multiboot(base, expt, design="paired", nboot=400, rng=i, method=method, **kw)
        lo, hi = r.ci["delta"]
        excludes = lo > 0 or hi < 0
        if r.pvalue_two_sided < 0.04:
            assert excludes, (method, r.pvalue_two_sided, lo, hi)
            checked += 1
        elif r.pvalue_two_sided > 0.07:
            assert not excludes, (method, r.pvalue_two_sided, lo, hi)
            checked += 1
        assert method.split()[0] in r.pvalue_method
    assert checked >= 3


def test_basic_pvalue_reflects_about_the_estimate():
    base, expt = make_tidy(seed=1, n_ex=60), make_tidy(seed=2, p=0.74, n_ex=60)
    r = multiboot(base, expt, design="paired", nboot=300, rng=0, method="basic")
    d, est = r.delta_distribution, r.estimate["delta"]
    assert r.pvalue == (1 + np.sum(d >= 2 * est)) / 301
    assert r.pvalue_two_sided == min(1, 2 * (1 + min(np.sum(d >= 2 * est),
                                                     np.sum(d <= 2 * est))) / 301)


def test_bca_pvalue_is_the_percentile_one_without_correction():
    from multiberts_stats.bootstrap.results import bca_pvalues, mc_pvalues

    d = np.random.default_rng(0).normal(0.3, 1.0, 999)
    est = float(np.median(d))  # z0 = 0
    pg, pl, p2 = bca_pvalues(d, est, 0.0)
    want = mc_pvalues(int(np.sum(d <= 0)), int(np.sum(d >= 0)), 999)
    assert (pg, pl, p2) == pytest.approx(want, rel=1e-9)


def test_corrected_falls_back_for_examples_only_calls():
    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.75)
    for b, e in ((base, expt), (base[base.pretrain_seed == 1], expt[expt.pretrain_seed == 1])):
        r = multiboot(b, e, design="paired", sample_seeds=False, method="corrected", nboot=100,
                      rng=0)
        assert r.method == "percentile" and r.details["method_requested"] == "corrected"
        assert r.notes and "percentile" in r.notes[0] and "note:" in r.summary()
    full = multiboot(base, expt, design="paired", method="corrected", nboot=100, rng=0)
    assert full.method == "corrected" and full.notes == []


def test_undefined_metric_is_a_clear_error():
    wino = make_winogender().assign(prediction=0.0)  # every sentence resolved to the occupation
    with pytest.raises(BootstrapInputError, match=r"The metric 'winogender_bias_r' is undefined "
                                                  r"on the base side of multiboot: 50 of 50 "
                                                  r"replicates are NaN and so is the estimate"):
        multiboot(wino, metric="winogender_bias_r", nboot=50, rng=0)
    with pytest.raises(BootstrapInputError, match=r"undefined on the expt side"):
        multiboot(make_winogender(seed=1), wino, design="paired", metric="winogender_bias_r",
                  nboot=50, rng=0)
    base = make_tidy(seed=1)
    with pytest.raises(BootstrapInputError, match=r"undefined on the base side.*callable "
                                                  r"returned NaN"):
        multiboot(base, nboot=20, rng=0, metric=lambda t, p: np.nan)


def test_report_ci_drops_nan_samples_with_a_warning():
    samples = [(0.7, 0.72), (np.nan, 0.7), (0.71, 0.74), (0.69, np.nan), (0.70, 0.73)]
    with pytest.warns(DroppedSamplesWarning, match="2 of 5 samples"):
        ret = report_ci(samples, verbose=False)
    kept = np.array([(0.7, 0.72), (0.71, 0.74), (0.70, 0.73)])
    assert ret["base"]["mean"] == pytest.approx(kept[:, 0].mean())
    assert ret["delta"]["p"] == pytest.approx(1 / 3)  # floored at 1/len, as published
    with pytest.raises(BootstrapInputError, match="every sample is NaN"):
        report_ci([(np.nan, 0.1)], verbose=False)


def test_small_nboot_warning_follows_the_p_floor():
    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.75)
    with pytest.warns(SmallNbootWarning, match=r"smallest two-sided p-value is 2/\(nboot\+1\)"):
        multiboot(base, expt, design="paired", nboot=20, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallNbootWarning)
        multiboot(base, expt, design="paired", nboot=1000, rng=0, n_comparisons=25)
        multiboot(base, nboot=20, rng=0)  # one side: no p-value, no floor to warn about
        multiboot(base, expt, design="paired", nboot=40, rng=0)  # 2/41 < 0.05
    with pytest.warns(SmallNbootWarning, match="use nboot >= 40"):
        multiboot(base, expt, design="paired", nboot=39, rng=0)  # 2/40 = 0.05
    with pytest.warns(SmallNbootWarning, match="alpha/m"):
        multiboot(base, expt, design="paired", nboot=1000, rng=0, n_comparisons=30)
    with pytest.raises(BootstrapInputError, match="`n_comparisons` parameter of multiboot must "
                                                  "be a positive integer. Got 0"):
        multiboot(base, expt, design="paired", n_comparisons=0)


def test_fixed_baseline_with_several_seeds_warns_once():
    base, expt = make_tidy(seed=1, seeds=[0, 1]), make_tidy(seed=2, n_seeds=5)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = multiboot(base, expt, design="fixed_baseline", nboot=50, rng=0)
    fb = [w for w in rec if issubclass(w.category, FixedBaselineWarning)]
    assert len(fb) == 1 and "2 seeds" in str(fb[0].message)
    assert sum("fixed baseline" in w for w in r.warnings) == 1
    one = make_tidy(seed=1, seeds=[0])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        multiboot(one, expt, design="fixed_baseline", nboot=50, rng=0)
    assert not any(issubclass(w.category, FixedBaselineWarning) for w in rec)


def test_few_clusters_warn():
    base = make_tidy(seed=1, n_clusters=6)
    with pytest.warns(FewClustersWarning, match=r"Only 6 clusters \('cluster'\)"):
        multiboot(base, cluster_col="cluster", nboot=50, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewClustersWarning)
        warnings.simplefilter("ignore", UserWarning)
        multiboot(base, cluster_col="cluster", sample_examples=False, nboot=20, rng=0)
