"""Artifact vs procedure, variance decomposition, learning curves, agreement, corrections."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _analysis_data import paired_tables, steps_table, tidy

from multiberts_stats import analysis as A
from multiberts_stats.bootstrap import multiboot
from multiberts_stats.plotting import new_axes

NB = 200


# ---- multiple comparisons -------------------------------------------------------------------

@pytest.mark.parametrize("method,sm", [("holm", "holm"), ("bh", "fdr_bh"),
                                       ("bonferroni", "bonferroni"), ("by", "fdr_by")])
def test_adjust_pvalues_matches_statsmodels(method, sm):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 50):
        p = np.concatenate([rng.uniform(0, 0.05, m // 2 + 1), rng.uniform(0, 1, m)])
        p[::5] = p[0]  # ties
        np.testing.assert_allclose(A.adjust_pvalues(p, method), multipletests(p, method=sm)[1],
                                   rtol=0, atol=1e-12)


def test_adjust_pvalues_hand_checked_and_nan():
    np.testing.assert_allclose(A.adjust_pvalues([0.01, 0.04, 0.03], "holm"), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(A.adjust_pvalues([0.01, 0.04, 0.03], "bh"), [0.03, 0.04, 0.04])
    out = A.adjust_pvalues([0.01, np.nan, 0.04], "holm")
    assert np.isnan(out[1]) and np.allclose(out[[0, 2]], [0.02, 0.04])
    with pytest.raises(ValueError, match="`method` parameter of adjust_pvalues"):
        A.adjust_pvalues([0.1], "nope")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        A.adjust_pvalues([1.5], "holm")


# ---- artifact vs procedure ------------------------------------------------------------------

def test_report_values_equal_engine_on_same_draws():
    base, expt = paired_tables("procedure", seed=1)
    rep = A.artifact_vs_procedure(base, expt, design="paired", nboot=NB, rng=123)
    direct = multiboot(base, expt, design="paired", metric="accuracy", nboot=NB, rng=123,
                       confidence_level=0.95)
    np.testing.assert_array_equal(rep.procedure.delta_distribution, direct.delta_distribution)
    assert rep.procedure_ci == pytest.approx(tuple(direct.ci["delta"]))
    assert rep.procedure_estimate == pytest.approx(direct.estimate["delta"])
    row = rep.to_frame().query("level == 'procedure'").iloc[0]
    assert (row.low, row.high) == pytest.approx(tuple(direct.ci["delta"]))
    assert row.p_value == pytest.approx(direct.pvalue_two_sided)
    # the artifact rows are exactly the examples-only results they came from
    for _, r in rep.artifacts.iterrows():
        res = rep.artifact_results[r.artifact]
        assert (r.low, r.high) == pytest.approx(tuple(res.ci["delta"]))
        assert r.estimate == pytest.approx(res.estimate["delta"])
        # ... and the estimate is the seed's plain accuracy difference on all examples
        s = r.seed
        acc = lambda t: float((t.prediction == t.label).mean())
        assert r.estimate == pytest.approx(acc(expt[expt.pretrain_seed == s])
                                           - acc(base[base.pretrain_seed == s]))
    # decomposition's joint variance is the variance of the procedure's own draws
    assert rep.decomposition.joint == pytest.approx(np.var(direct.delta_distribution, ddof=1))
    # fixed rng reproduces every number
    rep2 = A.artifact_vs_procedure(base, expt, design="paired", nboot=NB, rng=123)
    pd.testing.assert_frame_equal(rep.to_frame(), rep2.to_frame())
    assert rep.decomposition.seeds == rep2.decomposition.seeds


def test_verdict_flags_planted_artifact_only_effect():
    base, expt = paired_tables("artifact_only", seed=2)
    rep = A.artifact_vs_procedure(base, expt, design="paired", nboot=NB, rng=0)
    v = rep.verdict.iloc[0]
    assert rep.artifacts.set_index("seed").loc[0, "verdict"] == "positive"
    assert v.n_positive == 1 and v.n_none == 4 and v.n_negative == 0
    assert rep.procedure_verdict == "none"
    assert rep.disagrees
    assert "Artifact-level finding only" in rep.flag and "seed 0" in rep.flag
    assert rep.flag in rep.to_markdown() and rep.flag in rep.summary()
    assert rep.to_frame().attrs["disagrees"] is True


def test_verdict_does_not_flag_planted_procedure_effect():
    base, expt = paired_tables("procedure", seed=3)
    rep = A.artifact_vs_procedure(base, expt, design="paired", nboot=NB, rng=0)
    assert rep.procedure_verdict == "positive"
    assert (rep.artifacts.verdict == "positive").all()
    assert not rep.disagrees
    assert rep.flag.startswith("Consistent")


def test_one_procedure_alone_and_null():
    base, _ = paired_tables("null", seed=4)
    rep = A.artifact_vs_procedure(base, nboot=NB, rng=0, null=0.5)
    assert rep.quantity == "base" and rep.design is None
    assert len(rep.artifacts) == 5 and set(rep.artifacts.columns) >= {"seed", "low", "high"}
    assert rep.procedure_verdict == "positive"  # accuracy ~0.7 is above 0.5
    lo, hi = rep.procedure_ci
    assert lo <= rep.procedure_estimate <= hi
    for _, r in rep.artifacts.iterrows():
        assert r.low <= r.estimate <= r.high


def test_unpaired_and_fixed_baseline_artifacts():
    base, expt = paired_tables("procedure", seed=5, n_seeds=3, n_ex=300)
    expt = expt.assign(pretrain_seed=expt.pretrain_seed + 10)
    rep = A.artifact_vs_procedure(base, expt, nboot=50, rng=0, decompose=False)
    assert rep.design == "unpaired" and len(rep.artifacts) == 9
    assert {"base_seed", "expt_seed"} <= set(rep.artifacts.columns)
    rep = A.artifact_vs_procedure(base, expt, nboot=50, rng=0, decompose=False,
                                  max_artifact_pairs=4)
    assert len(rep.artifacts) == 3 and any("max_artifact_pairs" in w for w in rep.warnings)
    one = base[base.pretrain_seed == 0]
    rep = A.artifact_vs_procedure(one, expt, design="fixed_baseline", nboot=50, rng=0,
                                  decompose=False)
    assert len(rep.artifacts) == 3 and list(rep.artifacts.seed) == [10, 11, 12]


def test_few_seeds_warning_reaches_every_output():
    import matplotlib

    matplotlib.use("Agg")
    base, expt = paired_tables("procedure", seed=6, n_seeds=2, n_ex=200)
    rep = A.artifact_vs_procedure(base, expt, design="paired", nboot=50, rng=0)
    assert rep.procedure.warnings, "the engine should warn with 2 seeds"
    for w in rep.procedure.warnings:
        assert w in rep.warnings
        assert w in rep.to_frame().attrs["warnings"]
        assert w in rep.to_markdown()
        assert w in rep.summary()
        assert w in rep.decomposition.to_frame().attrs["warnings"]
    ax = rep.plot(ax=new_axes())
    texts = [t for t in ax.texts if t.get_gid() == "warning"]
    assert texts and rep.procedure.warnings[0][:40] in texts[0].get_text().replace("\n", " ")


def test_partially_shared_examples_are_restricted_with_a_warning():
    base, expt = paired_tables("procedure", seed=7, n_seeds=3, n_ex=120)
    part = expt[expt.example_id < "ex00100"]
    with pytest.warns(UserWarning, match="Only the 100 examples present on both sides"):
        rep = A.artifact_vs_procedure(base, part, nboot=30, rng=0, decompose=False)
    assert rep.procedure.n_examples == 100
    assert any("20 base-only" in w for w in rep.warnings)


def test_undefined_metric_is_a_clear_error():
    from _analysis_data import tidy

    n = 40
    occ = np.repeat([f"o{i}" for i in range(10)], 4)
    extra = {"gender": np.tile(["female", "male"], n // 2), "occupation": occ,
             "bls_pct_female": np.repeat(np.linspace(10, 90, 10), 4)}
    t = tidy(np.ones((3, n), bool), np.ones(n), seeds=[0, 1, 2], extra=extra)  # all predict 1
    with pytest.raises(ValueError, match="undefined \\(NaN\\).*seed\\(s\\) \\[0, 1, 2\\]"):
        A.artifact_vs_procedure(t, metric="winogender_bias_r", cluster_col="occupation",
                                nboot=10)


def test_bad_input_messages():
    base, expt = paired_tables("null", seed=7, n_seeds=2, n_ex=50)
    other = expt.assign(example_id="zz" + expt.example_id)
    with pytest.raises(ValueError, match="must share examples.*no common `example_id`"):
        A.artifact_vs_procedure(base, other, nboot=10)
    with pytest.raises(ValueError, match="at least one row"):
        A.artifact_vs_procedure(base.iloc[:0], expt, nboot=10)
    with pytest.raises(ValueError, match="`alpha` parameter.*Got 2"):
        A.artifact_vs_procedure(base, expt, alpha=2)
    with pytest.raises(ValueError, match="`nboot` parameter.*Got -3"):
        A.artifact_vs_procedure(base, expt, nboot=-3)
    with pytest.raises(ValueError, match="`design` parameter.*must be None"):
        A.artifact_vs_procedure(base, design="paired")
    with pytest.raises(ValueError, match="'paired'.*seeds present on both sides"):
        A.artifact_vs_procedure(base, expt.assign(pretrain_seed=expt.pretrain_seed + 9),
                                design="paired", nboot=10)
    with pytest.raises(TypeError, match="tidy pandas DataFrame"):
        A.artifact_vs_procedure([1, 2], nboot=10)


# ---- variance decomposition -----------------------------------------------------------------

def test_variance_decomposition_components():
    base, expt = paired_tables("procedure", seed=8)
    d = A.variance_decomposition(base, expt, design="paired", nboot=NB, rng=9)
    direct = multiboot(base, expt, design="paired", nboot=NB, rng=9)
    assert d.joint == pytest.approx(np.var(direct.delta_distribution, ddof=1))
    assert d.seeds > 0 and d.examples > 0
    f = d.to_frame()
    assert list(f.component) == ["joint (seeds and examples)", "seeds only", "examples only"]
    proj = d.projection([5, 20, 1000])
    assert proj.projected_width.is_monotonic_decreasing
    # with every seed identical, the seed axis contributes nothing
    same = pd.concat([base[base.pretrain_seed == 0].assign(pretrain_seed=s) for s in range(4)])
    same_e = pd.concat([expt[expt.pretrain_seed == 0].assign(pretrain_seed=s) for s in range(4)])
    d0 = A.variance_decomposition(same, same_e, design="paired", nboot=50, rng=0)
    assert d0.seeds == pytest.approx(0.0, abs=1e-15)


def test_projected_width_hand_checked():
    d = A.VarianceDecomposition("delta", joint=0.02, seeds=0.01, examples=0.01, n_seeds=5,
                                confidence_level=0.95)
    z = 1.959963984540054
    assert float(d.projected_width(5)) == pytest.approx(2 * z * np.sqrt(0.02))
    assert float(d.projected_width(20)) == pytest.approx(2 * z * np.sqrt(0.01 / 4 + 0.01))


# ---- learning curves ------------------------------------------------------------------------

def test_learning_curve_bands_comparisons_and_eps():
    t = steps_table(seed=0)
    lc = A.learning_curve(t, group_cols=["layer"], nboot=500, rng=11, eps=0.01,
                          correction="holm")
    assert len(lc.curve) == 10
    # the first band is the engine's one-side call with the same rng
    first = multiboot(t[(t.layer == 0) & (t.step == 0)], nboot=500, rng=11)
    r0 = lc.curve.iloc[0]
    assert (r0.low, r0.high) == pytest.approx(tuple(first.ci["base"]))
    assert r0.estimate == pytest.approx(first.estimate["base"])
    c = lc.comparisons
    assert set(c.kind) == {"previous", "final"} and len(c) == 2 * (4 + 4)
    for kind in ("previous", "final"):
        m = c.kind == kind
        np.testing.assert_allclose(c.loc[m, "p_adjusted"],
                                   A.adjust_pvalues(c.loc[m, "p_value"].to_numpy(), "holm"))
    # step 200 -> 2000 is a plateau (identical predictions): not significant, delta 0
    plateau = c[(c.kind == "previous") & (c.step_a == 200)]
    assert (plateau.delta == 0).all() and not plateau.significant.any()
    # 0 -> 20 improves strongly for both layers
    assert c[(c.kind == "previous") & (c.step_a == 0)].significant.all()
    assert list(lc.within_eps.step_within_eps) == [200, 200]
    md = lc.to_markdown()
    assert "holm" in md and "First step within" in md


def test_learning_curve_bh_and_errors():
    t = steps_table(seed=1, steps=(0, 20, 2000), layers=(0,), n_ex=200)
    lc = A.learning_curve(t, nboot=50, rng=0, correction="bh", compare=("final",))
    assert set(lc.comparisons.kind) == {"final"}
    assert lc.within_eps is None
    with pytest.raises(ValueError, match="`step_col` parameter"):
        A.learning_curve(t, step_col="nope", nboot=10)
    with pytest.raises(ValueError, match="`method` parameter of adjust_pvalues"):
        A.learning_curve(t, correction="xx", nboot=10)
    with pytest.raises(ValueError, match="needs 'final'"):
        A.learning_curve(t, nboot=10, compare=("previous",), eps=0.1)


# ---- agreement ------------------------------------------------------------------------------

def test_agreement_hand_checked():
    t = pd.DataFrame({
        "pretrain_seed": [0] * 4 + [1] * 4 + [2] * 4,
        "example_id": list("abcd") * 3,
        "label": [1, 0, 1, 0] * 3,
        "prediction": [1, 0, 1, 1,   1, 0, 0, 1,   1, 1, 0, 1]})
    a = A.agreement(t)
    per = a.per_example.set_index("example_id")
    assert per.share_seeds_correct.to_dict() == pytest.approx(
        {"a": 1.0, "b": 2 / 3, "c": 1 / 3, "d": 0.0})
    assert a.n_flipping == 2 and a.n_examples == 4
    assert list(a.seed_sensitive.example_id) == ["b", "c"]
    from sklearn.metrics import cohen_kappa_score

    for i in range(3):
        for j in range(3):
            if i != j:
                pi = t[t.pretrain_seed == i].prediction.to_numpy()
                pj = t[t.pretrain_seed == j].prediction.to_numpy()
                assert a.kappa.iloc[i, j] == pytest.approx(cohen_kappa_score(pi, pj))
    assert "2 of 4 examples" in a.to_markdown()


def test_agreement_runs_inside_seeds_and_errors():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 30).astype(float)
    c = rng.random((4, 30)) < 0.7
    t = tidy(c, labels, seeds=[0, 0, 1, 1], finetune_seeds=[0, 1, 0, 1])
    a = A.agreement(t)
    per = a.per_example.set_index("example_id")
    exp = (c[:2].mean(0) + c[2:].mean(0)) / 2
    np.testing.assert_allclose(per.share_seeds_correct.to_numpy(), exp)
    np.testing.assert_allclose(per.share_runs_correct.to_numpy(), c.mean(0))
    assert (per.n_runs == 4).all()
    with pytest.raises(ValueError, match="select one step"):
        A.agreement(pd.concat([t, t.assign(step=0)]))
    with pytest.raises(ValueError, match="at least two seeds"):
        A.agreement(t[t.pretrain_seed == 0])


def test_cohen_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(1)
    for k in (2, 3, 5):
        a, b = rng.integers(0, k, 100), rng.integers(0, k, 100)
        assert A.cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_filters():
    t = tidy(np.ones((2, 3), bool), np.zeros(3), seeds=[0, 1], step=20)
    assert A.parse_filter("step=20,task=sst2") == {"step": "20", "task": "sst2"}
    assert len(A.select(t, {"step": "20", "pretrain_seed": "0|1"})) == 6
    with pytest.raises(ValueError, match="selects no rows.*Values of 'step' in the store: \\['20'\\]"):
        A.select(t, {"step": "2000"})
    with pytest.raises(ValueError, match="does not have"):
        A.select(t, {"nope": "1"})
    with pytest.raises(ValueError, match="must look like"):
        A.parse_filter("")


def test_cohen_kappa_two_constant_raters_is_nan_as_sklearn():
    from sklearn.metrics import cohen_kappa_score

    from multiberts_stats.errors import UndefinedMetricWarning

    with pytest.warns(UserWarning):  # sklearn says so itself; ours is silent and returns it
        want = cohen_kappa_score([1, 1, 1, 1], [1, 1, 1, 1])
    assert np.isnan(want) and np.isnan(A.cohen_kappa([1, 1, 1, 1], [1, 1, 1, 1]))
    # in agreement(): the undefined pair is NaN, named in one warning, left out of the mean
    t = pd.DataFrame({"pretrain_seed": [0] * 4 + [1] * 4 + [2] * 4,
                      "example_id": list("abcd") * 3, "label": [1, 1, 0, 0] * 3,
                      "prediction": [1] * 4 + [1] * 4 + [1, 0, 1, 0]})
    with pytest.warns(UndefinedMetricWarning, match=r"undefined \(NaN\) for 1 pair.*\(0, 1\)"):
        a = A.agreement(t)
    assert np.isnan(a.kappa.loc[0, 1]) and a.kappa.loc[0, 2] == pytest.approx(0.0)
    assert a.mean_kappa == pytest.approx(0.0) and "kappa" in a.warnings[0]


# ---- one parse per side; warnings keep their classes ------------------------------------------

def test_artifact_vs_procedure_parses_each_side_once(monkeypatch):
    from multiberts_stats.analysis import sides
    from multiberts_stats.bootstrap import modern

    calls = []
    orig = sides.to_matrix_runs

    def counted(df, **kw):
        calls.append(kw.get("side"))
        return orig(df, **kw)

    monkeypatch.setattr(sides, "to_matrix_runs", counted)
    monkeypatch.setattr(modern, "to_matrix_runs", counted)
    base, expt = paired_tables("procedure", seed=1, n_seeds=6, n_ex=100)
    rep = A.artifact_vs_procedure(base, expt, design="paired", nboot=20, rng=0)
    assert len(rep.artifacts) == 6 and rep.decomposition is not None
    assert calls == ["base", "expt"]  # 6 + 3 bootstraps, each side converted once
    calls.clear()
    A.learning_curve(steps_table(seed=0, n_seeds=3, n_ex=50, steps=(0, 20, 200), layers=(0,)),
                     nboot=20, rng=0)
    assert len(calls) == 3  # once per step, reused by the step comparisons


def test_analysis_warnings_are_package_warnings_with_their_classes():
    import warnings

    from multiberts_stats.analysis.common import WarningLog
    from multiberts_stats.errors import (
        DataWarning,
        FewSeedsWarning,
        MultibertsStatsWarning,
    )

    base, expt = paired_tables("procedure", seed=7, n_seeds=3, n_ex=120)
    part = expt[expt.example_id < "ex00100"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        A.artifact_vs_procedure(base, part, nboot=30, rng=0, decompose=False)
    assert caught and all(issubclass(w.category, MultibertsStatsWarning) for w in caught)
    assert any(w.category is DataWarning and "Only the 100 examples" in str(w.message)
               for w in caught)
    log = WarningLog()  # a class learnt from the engine is kept when issued again
    with log.catch():
        warnings.warn("Only 3 seeds are resampled", FewSeedsWarning, stacklevel=1)
    log.add("Only 3 seeds are resampled")
    with pytest.warns(FewSeedsWarning, match="Only 3 seeds"):
        log.issue()
