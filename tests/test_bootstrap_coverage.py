"""Coverage of the Multi-Bootstrap in simulation (crossed seed x example models), checked with
binomial tests; and the variance algebra behind the corrected interval."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from multiberts_stats.bootstrap import MatrixRuns, multiboot
from multiberts_stats.bootstrap.simulation import BINARY, CONTINUOUS, coverage_study

N_EXP = 500
pytestmark = pytest.mark.filterwarnings("ignore:Only .* seeds are resampled")


@pytest.mark.slow
def test_percentile_interval_covers_procedure_mean_and_paired_difference_at_25_seeds():
    r = coverage_study(CONTINUOUS, n_seeds=25, n_examples=2000, n_runs=5, n_experiments=N_EXP,
                       nboot=400, rng=2025)
    for q in ("base", "delta"):
        assert r["coverage"][q] >= 0.925, r["coverage"]
        # and not significantly below nominal 95%
        assert binomtest(r["hits"][q], N_EXP, 0.95, alternative="less").pvalue > 0.001, r["coverage"]
    # a one-sided paired test at 5% rejects the true null (delta = 0) at most 6% of the time
    assert r["reject"] <= 0.06, r["reject"]
    assert binomtest(r["rejects"], N_EXP, 0.05, alternative="greater").pvalue > 0.001


@pytest.mark.slow
def test_joint_resampling_is_conservative_for_binary_scores_and_corrected_is_calibrated():
    r = coverage_study(BINARY, n_seeds=25, n_examples=2000, n_runs=5, n_experiments=N_EXP,
                       nboot=400, rng=7)
    # per-run Bernoulli noise dominates a paired difference: counted twice, the interval is wide
    assert r["coverage"]["delta"] >= 0.98, r["coverage"]
    assert binomtest(r["hits"]["delta"], N_EXP, 0.95, alternative="greater").pvalue < 0.001
    # the corrected (variance-component) interval is calibrated
    cov = r["coverage_corrected"]["delta"]
    assert 0.925 <= cov <= 0.975, cov
    assert binomtest(r["hits_corrected"]["delta"], N_EXP, 0.95).pvalue > 0.001, cov
    # for the procedure mean too it is not significantly below nominal
    assert binomtest(r["hits_corrected"]["base"], N_EXP, 0.95, alternative="less").pvalue > 0.001
    assert r["reject_corrected"] <= 0.06 and r["width_ratio"] < 0.8


def _matrix_side(Y, n_runs=1):
    S, J = Y.shape
    return MatrixRuns(pd.DataFrame({"pretrain_seed": np.arange(S)}), Y, labels=None,
                      run_columns={"score": Y})


def test_joint_bootstrap_variance_counts_the_residual_twice():
    """Var* = sum(a^2)/S^2 + sum(b^2)/J^2 + sum(g^2)/(SJ)^2 for the crossed decomposition
    Y = m + a_s + b_j + g_sj, while the unbiased estimate of the sampling variance subtracts the
    residual: the corrected variance of multiboot is that estimate."""
    rng = np.random.default_rng(3)
    S, J = 12, 300
    Y = 0.5 + rng.normal(0, .05, (S, 1)) + rng.normal(0, .1, (1, J)) + rng.normal(0, .5, (S, J))
    res = multiboot(_matrix_side(Y), metric="mean", nboot=6000, rng=1, method="corrected")
    m = Y.mean()
    a, b = Y.mean(1) - m, Y.mean(0) - m
    g = Y - m - a[:, None] - b[None, :]
    boot_var = (a @ a) / S ** 2 + (b @ b) / J ** 2 + (g * g).sum() / (S * J) ** 2
    assert res.bootstrap_std["base"] ** 2 == pytest.approx(boot_var, rel=0.08)
    unbiased = (a @ a) / (S * (S - 1)) + (b @ b) / (J * (J - 1)) - (g * g).sum() / (
        S * J * (S - 1) * (J - 1))
    vc = res.details["variance_components"]["base"]
    assert vc["variance"] == pytest.approx(unbiased, rel=1e-10)
    assert res.estimate["base"] == pytest.approx(m)
    assert res.ci["base"][0] < m < res.ci["base"][1]


def test_small_coverage_run_matches_multiboot_semantics():
    """The simulation's vectorised analysis equals multiboot's corrected interval on the same data."""
    rng = np.random.default_rng(5)
    yb, ye = CONTINUOUS.simulate(rng, 6, 200, 5)
    res = multiboot(_matrix_side(yb), _matrix_side(ye), design="paired", metric="mean", nboot=50,
                    rng=0, method="corrected")
    from multiberts_stats.bootstrap.modern import variance_components

    comps = variance_components({"base": yb - yb.mean(), "expt": ye - ye.mean()},
                                {"base": True, "expt": True}, "paired")
    for q in ("base", "delta"):
        assert res.details["variance_components"][q]["variance"] == pytest.approx(
            comps[q]["variance"], rel=1e-10)


def test_coverage_study_runs_for_both_designs_and_is_reproducible():
    kw = dict(n_seeds=5, n_examples=300, n_experiments=20, nboot=100, rng=4)
    for design in ("paired", "unpaired"):
        a = coverage_study(CONTINUOUS, design=design, **kw)
        b = coverage_study(CONTINUOUS, design=design, **kw)
        assert a["hits"] == b["hits"] and a["rejects"] == b["rejects"]
        assert 0 <= a["coverage"]["delta"] <= 1 and a["design"] == design


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cluster_coverage_is_the_basis_of_the_few_clusters_warning():
    """Few clusters undercover (4: ~80%); from COVERAGE_MIN_CLUSTERS on, coverage is not
    significantly below 92.5% (benchmarks/cluster_coverage.py has the full table)."""
    from multiberts_stats.bootstrap.modern import COVERAGE_MIN_CLUSTERS
    from multiberts_stats.bootstrap.simulation import cluster_coverage_study

    n = 200
    few = cluster_coverage_study(n_clusters=4, n_experiments=n, nboot=300, rng=11)
    assert binomtest(few["hits"]["base"], n, 0.925, alternative="less").pvalue < 0.001, few
    ok = cluster_coverage_study(n_clusters=COVERAGE_MIN_CLUSTERS, n_experiments=n, nboot=300,
                                rng=12)
    for q in ("base", "delta"):
        assert binomtest(ok["hits"][q], n, 0.925, alternative="less").pvalue > 0.001, ok
