"""The modern multiboot API: agreement with a plain loop on the same draws for every design and
switch, hand-checked values, reproducibility, batch invariance, interval properties, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest

from multiberts_stats import metrics
from multiberts_stats.bootstrap import (BootstrapInputError, BootstrapTypeError, MatrixRuns,
                                        MultiBootstrapResult, multiboot)

pytestmark = pytest.mark.filterwarnings("ignore:Only .* seeds are resampled")


def make_tidy(n_seeds=4, n_ft=2, n_ex=30, p=0.7, seed=0, seeds=None, n_clusters=6, skill_sd=0.05):
    rs = np.random.RandomState(seed)
    lab_rs = np.random.RandomState(1000)
    labels = lab_rs.randint(0, 2, n_ex)
    gold_score = lab_rs.rand(n_ex)
    rows = []
    seeds = list(range(n_seeds)) if seeds is None else seeds
    for s in seeds:
        skill = p + rs.normal(0, skill_sd)
        for f in range(n_ft):
            for j in rs.permutation(n_ex):  # rows in any order
                ok = rs.rand() < skill
                rows.append(dict(family="fam", pretrain_seed=s, finetune_seed=f,
                                 example_id=f"ex{j:03d}", label=float(labels[j]),
                                 prediction=float(labels[j] if ok else 1 - labels[j]),
                                 score=float(np.clip(gold_score[j] + rs.normal(0, .2), 0, 1)),
                                 cluster=f"c{j % n_clusters}"))
    return pd.DataFrame(rows)


def runs_of(df, seed_col="pretrain_seed"):
    """{seed: [run frame sorted by example_id]} — the plain loop's view of one side."""
    out = {}
    for key, g in df.groupby([seed_col, "finetune_seed"], sort=True):
        out.setdefault(key[0], []).append(g.sort_values("example_id").reset_index(drop=True))
    return out


def plain_multiboot(base, expt, design, fn, cols, cluster_col=None, sample_seeds=True,
                    sample_examples=True, nboot=10, seed=0, relabel=None):
    """The Multi-Bootstrap as a plain loop, drawing with a RandomState in multiboot's order."""
    rng = np.random.RandomState(seed)
    sides = {"base": runs_of(base)}
    if expt is not None:
        sides["expt"] = runs_of(expt)
    seeds = {k: sorted(v) for k, v in sides.items()}
    if design == "paired":
        common = sorted(set(seeds["base"]) & set(seeds["expt"]))
        seeds = {"base": common, "expt": common}
    first = next(iter(sides["base"].values()))[0]
    if cluster_col:
        clusters = sorted(first[cluster_col].unique())
        members = [np.flatnonzero(first[cluster_col].to_numpy() == c) for c in clusters]
    else:
        members = [np.array([j]) for j in range(len(first))]
    out = []
    for _ in range(nboot):
        draws = {}
        if sample_seeds:
            if design == "paired":
                d = rng.randint(0, len(seeds["base"]), len(seeds["base"]))
                draws = {"base": d, "expt": d}
            else:
                for k in sides:
                    if design == "fixed_baseline" and k == "base":
                        continue
                    draws[k] = rng.randint(0, len(seeds[k]), len(seeds[k]))
        if sample_examples:
            u = rng.randint(0, len(members), len(members))
        else:
            u = np.arange(len(members))
        jj = np.concatenate([members[i] for i in u])
        copy = np.concatenate([np.full(len(members[i]), n) for n, i in enumerate(u)])
        row = []
        for k, runs in sides.items():
            drawn = [seeds[k][i] for i in draws[k]] if k in draws else seeds[k]
            vals = []
            for s in drawn:
                per_run = []
                for r in runs[s]:
                    args = [r[c].to_numpy()[jj] for c in cols]
                    if relabel is not None:  # a cluster drawn twice counts twice
                        args[relabel] = np.char.add(args[relabel].astype(str), copy.astype(str))
                    per_run.append(fn(*args))
                vals.append(np.mean(per_run))
            row.append(np.mean(vals))
        out.append(row)
    return np.array(out)


DESIGNS = ["single", "paired", "unpaired", "fixed_baseline"]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("ss,se", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("clusters", [False, True])
def test_every_design_and_switch_agrees_with_plain_loop(design, ss, se, clusters):
    base = make_tidy(seed=1)
    expt = None
    if design == "paired":
        expt = make_tidy(seed=2, p=0.75, seeds=[0, 1, 2, 3])
    elif design == "unpaired":
        expt = make_tidy(seed=2, p=0.75, seeds=[10, 11, 12])
    elif design == "fixed_baseline":
        base = make_tidy(seed=1, seeds=[0], n_ft=3)
        expt = make_tidy(seed=2, p=0.75, n_seeds=5)
    cl = "cluster" if clusters else None
    res = multiboot(base, expt, design=None if design == "single" else design, cluster_col=cl,
                    sample_seeds=ss, sample_examples=se, nboot=12,
                    rng=np.random.RandomState(5))
    want = plain_multiboot(base, expt, design, metrics.accuracy, ["label", "prediction"], cl, ss,
                           se, nboot=12, seed=5)
    np.testing.assert_allclose(res.distribution, want, rtol=1e-12, atol=1e-14)
    assert res.design == design
    full = plain_multiboot(base, expt, design, metrics.accuracy, ["label", "prediction"],
                           sample_seeds=False, sample_examples=False, nboot=1)[0]
    assert res.estimate["base"] == pytest.approx(full[0], abs=1e-14)
    if expt is not None:
        assert res.estimate["delta"] == pytest.approx(full[1] - full[0], abs=1e-14)
        np.testing.assert_allclose(res.delta_distribution, want[:, 1] - want[:, 0], atol=1e-14)


@pytest.mark.parametrize("metric,fn,cols", [
    ("f1", metrics.binary_f1, ["label", "prediction"]),
    ("mcc", metrics.matthews_corrcoef, ["label", "prediction"]),
    ("macro_f1", metrics.macro_f1, ["label", "prediction"]),
    ("error", metrics.error, ["label", "prediction"]),
    ("mean", metrics.mean, ["score"]),
    ("pearson", metrics.pearson, ["label", "score"]),
    ("spearman", metrics.spearman, ["label", "prediction"]),
    (lambda t, p: float(np.mean(t == p)) ** 2, lambda t, p: float(np.mean(t == p)) ** 2,
     ["label", "prediction"]),
])
@pytest.mark.parametrize("clusters", [False, True])
def test_metrics_agree_with_plain_loop(metric, fn, cols, clusters):
    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.75)
    if metric == "pearson":  # correlate the score column with the label: rename for the API
        base, expt = (d.assign(prediction=d["score"]) for d in (base, expt))
        cols = ["label", "prediction"]
    cl = "cluster" if clusters else None
    res = multiboot(base, expt, design="paired", metric=metric, cluster_col=cl, nboot=6,
                    rng=np.random.RandomState(2))
    want = plain_multiboot(base, expt, "paired", fn, cols, cl, nboot=6, seed=2)
    np.testing.assert_allclose(res.distribution, want, rtol=1e-10, atol=1e-12)


def make_winogender(seeds=(0, 1, 2), n_occ=12, seed=0):
    bls = np.random.RandomState(99).uniform(0, 100, n_occ)
    rs = np.random.RandomState(seed)
    rows = []
    for s in seeds:
        for f in range(2):
            for o in range(n_occ):
                for g in ("male", "female", "neutral"):
                    for v in range(2):
                        p_occ = 0.5 + 0.3 * (bls[o] / 100 - 0.5) * (g == "female")
                        rows.append(dict(pretrain_seed=s, finetune_seed=f,
                                         example_id=f"{o}_{g}_{v}", occupation=f"occ{o:02d}",
                                         gender=g, bls_pct_female=bls[o], label=0.0,
                                         prediction=float(rs.rand() > p_occ)))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("which", ["r", "slope"])
def test_winogender_bias_resamples_occupations(which):
    base, expt = make_winogender(seed=1), make_winogender(seed=2)
    res = multiboot(base, expt, design="paired", metric=f"winogender_bias_{which}", nboot=6,
                    rng=np.random.RandomState(4))
    assert res.details["cluster_col"] == "occupation" and res.n_units == 12
    fn = getattr(metrics, f"winogender_bias_{which}")
    want = plain_multiboot(base, expt, "paired", fn,
                           ["prediction", "gender", "occupation", "bls_pct_female"],
                           cluster_col="occupation", nboot=6, seed=4, relabel=2)
    np.testing.assert_allclose(res.distribution, want, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------ hand-checked

def hand_tidy():
    labels = [1, 0, 1]
    preds = {("base", 0, 0): [1, 0, 1], ("base", 0, 1): [1, 1, 1], ("base", 1, 0): [0, 0, 1],
             ("base", 1, 1): [0, 1, 0], ("expt", 0, 0): [1, 0, 1], ("expt", 0, 1): [1, 0, 1],
             ("expt", 1, 0): [1, 1, 1], ("expt", 1, 1): [0, 0, 1]}
    rows = [dict(side=side, pretrain_seed=s, finetune_seed=f, example_id=f"e{j}",
                 label=labels[j], prediction=p[j])
            for (side, s, f), p in preds.items() for j in range(3)]
    df = pd.DataFrame(rows)
    return df[df.side == "base"].drop(columns="side"), df[df.side == "expt"].drop(columns="side")


class ScriptedState(np.random.RandomState):
    """A RandomState whose randint returns scripted draws (hand-checked replicates)."""

    def __init__(self, draws):
        super().__init__(0)
        self.draws = list(draws)

    def randint(self, low, high=None, size=None, dtype=int):
        d = np.asarray(self.draws.pop(0))
        assert len(d) == size == high
        return d


def test_hand_checked_values():
    base, expt = hand_tidy()
    res = multiboot(base, expt, design="paired", sample_seeds=False, sample_examples=False, nboot=1,
                    rng=0)
    # base = mean(mean(1, 2/3), mean(2/3, 0)) = 7/12; expt = mean(1, 2/3) = 5/6
    assert res.estimate == pytest.approx({"base": 7 / 12, "expt": 5 / 6, "delta": 1 / 4})
    # replicate 1: seeds [1, 1], examples [0, 0, 2] -> base 1/6, expt 2/3
    # replicate 2: seeds [0, 1], examples [1, 1, 1] -> base 1/2, expt 3/4
    rng = ScriptedState([[1, 1], [0, 0, 2], [0, 1], [1, 1, 1]])
    res = multiboot(base, expt, design="paired", nboot=2, rng=rng)
    np.testing.assert_allclose(res.distribution, [[1 / 6, 2 / 3], [1 / 2, 3 / 4]])
    np.testing.assert_allclose(res.delta_distribution, [1 / 2, 1 / 4])
    # no delta <= 0: (1 + 0) / (nboot + 1); two-sided 2 (1 + 0) / (nboot + 1)  (issue #11 grid)
    assert res.pvalue == 1 / 3 and res.pvalue_two_sided == 2 / 3
    assert res.n_seeds == {"base": 2, "expt": 2} and res.n_runs == {"base": 4, "expt": 4}
    # fixed baseline: base (both seeds, never resampled) on examples [0, 0, 2]: seed 0 runs 1, 1 ->
    # 1; seed 1 runs 1/3, 0 -> 1/6; base = 7/12. expt seeds drawn [0, 0] -> 1.
    rng = ScriptedState([[0, 0], [0, 0, 2]])
    res = multiboot(base, expt, design="fixed_baseline", nboot=1, rng=rng)
    np.testing.assert_allclose(res.distribution, [[7 / 12, 1.0]])


def test_cluster_draw_by_hand():
    base, _ = hand_tidy()
    base = base.assign(cl=base["example_id"].map({"e0": "A", "e1": "A", "e2": "B"}))
    # clusters sorted: A = {e0, e1}, B = {e2}; draw [0, 0] -> examples e0 e1 e0 e1 (4 examples)
    # seed 0: run [1,0,1] -> preds e0,e1 = 1,0 vs labels 1,0 -> 1 ; run [1,1,1] -> 1/2 => 3/4
    rng = ScriptedState([[0, 0]])
    res = multiboot(base, cluster_col="cl", sample_seeds=False, nboot=1, rng=rng,
                    seed_col="pretrain_seed")
    # seed 1: run [0,0,1] -> 0,0 vs 1,0 -> 1/2 ; run [0,1,0] -> 0,1 vs 1,0 -> 0 => 1/4
    assert res.distribution[0, 0] == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert res.n_units == 2 and res.n_examples == 3


# ------------------------------------------------------------------------------ matrix form

def test_matrix_form_equals_tidy_form():
    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.8)

    def to_matrix(df):
        runs = runs_of(df)
        info, preds = [], []
        for s, rr in runs.items():
            for r in rr:
                info.append({"pretrain_seed": s, "finetune_seed": r.finetune_seed[0]})
                preds.append(r.prediction.to_numpy())
        first = runs[min(runs)][0]
        return MatrixRuns(pd.DataFrame(info), np.array(preds), first.label.to_numpy(),
                          example_ids=first.example_id.to_numpy())

    a = multiboot(base, expt, design="paired", nboot=20, rng=3)
    b = multiboot(to_matrix(base), to_matrix(expt), design="paired", nboot=20, rng=3)
    np.testing.assert_array_equal(a.distribution, b.distribution)
    # reversed example order in one side is re-aligned by example_ids
    m = to_matrix(expt)
    rev = MatrixRuns(m.run_info, m.preds[:, ::-1], m.labels[::-1], example_ids=m.example_ids[::-1])
    c = multiboot(to_matrix(base), rev, design="paired", nboot=20, rng=3)
    np.testing.assert_array_equal(a.distribution, c.distribution)
    # the published layout: a `seed` column works too
    m2 = MatrixRuns(m.run_info.rename(columns={"pretrain_seed": "seed"}), m.preds, m.labels)
    assert multiboot(m2, nboot=5, rng=0).n_seeds == {"base": 4}


def test_multiboot_with_randomstate_reproduces_reference_draws():
    from sklearn.metrics import accuracy_score

    from multiberts_stats import multibootstrap

    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.8)
    a = multiboot(base, expt, design="paired", nboot=15, rng=np.random.RandomState(8))
    both = pd.concat([base.assign(intervention=False), expt.assign(intervention=True)])
    both = both.sort_values(["intervention", "pretrain_seed", "finetune_seed", "example_id"])
    run_info = both.groupby(["intervention", "pretrain_seed", "finetune_seed"]).size().reset_index()
    run_info = run_info.rename(columns={"pretrain_seed": "seed"})
    preds = both.prediction.to_numpy().reshape(len(run_info), -1)
    labels = both.label.to_numpy()[: preds.shape[1]]
    b = multibootstrap(run_info, preds, labels, accuracy_score, paired_seeds=True, nboot=15,
                       rng=8, verbose=False)
    np.testing.assert_allclose(a.distribution, np.array(b), rtol=1e-14)


# ------------------------------------------------------------------------------ reproducibility

def test_fixed_rng_reproduces_and_batch_size_does_not_matter():
    base, expt = make_tidy(seed=1, n_ex=50), make_tidy(seed=2, p=0.8, n_ex=50)
    for metric in ("accuracy", "mean"):
        ref = multiboot(base, expt, design="unpaired", metric=metric, nboot=40, rng=11)
        for kw in (dict(rng=11), dict(rng=np.random.default_rng(11)), dict(rng=11, batch=1),
                   dict(rng=11, batch=7)):
            other = multiboot(base, expt, design="unpaired", metric=metric, nboot=40, **kw)
            np.testing.assert_allclose(other.distribution, ref.distribution, rtol=1e-13, atol=0)
        assert not np.array_equal(
            multiboot(base, expt, design="unpaired", nboot=40, rng=12).distribution,
            ref.distribution)


def test_no_global_random_state_is_touched():
    base = make_tidy()
    saved = np.random.get_state()
    multiboot(base, nboot=20)
    multiboot(base, nboot=20, rng=3)
    after = np.random.get_state()
    assert saved[0] == after[0] and np.array_equal(saved[1], after[1]) and saved[2] == after[2]


# ------------------------------------------------------------------------------ properties

@pytest.mark.parametrize("method", ["percentile", "basic", "corrected"])
@pytest.mark.parametrize("design", ["paired", "unpaired", "fixed_baseline"])
def test_low_le_estimate_le_high(method, design):
    for seed in range(3):
        base = make_tidy(seed=seed, n_ex=80, seeds=[0] if design == "fixed_baseline" else None)
        expt = make_tidy(seed=seed + 10, p=0.75, n_ex=80)
        res = multiboot(base, expt, design=design, nboot=300, rng=seed, method=method)
        for q in ("base", "expt", "delta"):
            lo, hi = res.ci[q]
            assert lo <= res.estimate[q] <= hi, (q, res.ci[q], res.estimate[q])
            assert lo < hi
        floor = 0 if method == "corrected" else 1 / 300  # corrected p-values are analytic
        assert floor <= res.pvalue <= 1 and floor <= res.pvalue_two_sided <= 1


def test_switching_axes_off_narrows_the_interval():
    base = make_tidy(n_seeds=8, n_ex=200)
    width = {}
    for ss, se in [(True, True), (True, False), (False, True)]:
        r = multiboot(base, sample_seeds=ss, sample_examples=se, nboot=400, rng=1)
        width[ss, se] = np.diff(r.ci["base"])[0]
    assert width[True, True] > width[True, False] and width[True, True] > width[False, True]
    r = multiboot(base, sample_seeds=False, sample_examples=False, nboot=5, rng=1)
    assert np.all(r.distribution == r.estimate["base"])


def test_pvalues_and_thresholds_follow_their_definitions():
    base, expt = make_tidy(seed=1, n_ex=60), make_tidy(seed=2, p=0.72, n_ex=60)
    r = multiboot(base, expt, design="paired", nboot=500, rng=0, abs_threshold=0.01,
                  rel_threshold=0.02)
    d, b = r.delta_distribution, r.distribution[:, 0]
    # Monte-Carlo p-values (issue #11): (1 + k) / (nboot + 1); two-sided on its own grid
    assert r.pvalue == (1 + np.sum(d <= 0)) / 501
    assert r.pvalue_two_sided == pytest.approx(
        min(1, 2 * (1 + min(np.sum(d <= 0), np.sum(d >= 0))) / 501))
    assert r.p_abs_threshold == np.mean(d >= 0.01)
    assert r.p_rel_threshold == np.mean(d / b >= 0.02)
    n = multiboot(base, expt, design="paired", nboot=500, rng=0, abs_threshold=0.01,
                  rel_threshold=0.02, expect_negative_effect=True)
    assert n.pvalue == (1 + np.sum(d >= 0)) / 501
    assert n.p_abs_threshold == np.mean(d <= -0.01)
    assert n.p_rel_threshold == np.mean(d / b <= -0.02)
    lo, hi = r.ci["delta"]
    assert (lo, hi) == tuple(np.quantile(d, [0.025, 0.975]))
    basic = multiboot(base, expt, design="paired", nboot=500, rng=0, method="basic")
    assert basic.ci["delta"] == pytest.approx((2 * r.estimate["delta"] - hi,
                                               2 * r.estimate["delta"] - lo))


# ------------------------------------------------------------------------------ BCa, corrected

def test_bca_over_examples_uses_the_jackknife_acceleration():
    base = make_tidy(n_seeds=1, n_ex=40, n_ft=1)
    r = multiboot(base, nboot=2000, rng=0, method="bca", sample_seeds=False)
    y = base.sort_values("example_id")
    t, p = y.label.to_numpy(), y.prediction.to_numpy()
    jack = np.array([metrics.accuracy(np.delete(t, i), np.delete(p, i)) for i in range(40)])
    dev = jack.mean() - jack
    a = np.sum(dev ** 3) / (6 * np.sum(dev ** 2) ** 1.5)
    assert r.details["acceleration"]["base"] == pytest.approx(a)
    lo, hi = r.ci["base"]
    assert lo < r.estimate["base"] < hi
    # agrees with scipy's BCa on the same statistic (different draws: loose tolerance)
    from scipy.stats import bootstrap

    sp = bootstrap(((t == p).astype(float),), np.mean, method="BCa", n_resamples=4000,
                   random_state=1).confidence_interval
    assert lo == pytest.approx(sp.low, abs=0.03) and hi == pytest.approx(sp.high, abs=0.03)


def test_bca_over_seeds_and_refusal_when_both_axes_are_resampled():
    base, expt = make_tidy(n_seeds=6, seed=1), make_tidy(n_seeds=6, seed=2, p=0.8)
    r = multiboot(base, expt, design="paired", nboot=300, rng=0, method="bca",
                  sample_examples=False)
    assert r.ci["delta"][0] <= r.estimate["delta"] <= r.ci["delta"][1]
    with pytest.raises(BootstrapInputError, match=r"method='bca'.*not defined when seeds and "
                       r"examples are resampled jointly"):
        multiboot(base, expt, design="paired", nboot=10, rng=0, method="bca")
    with pytest.raises(BootstrapInputError, match="not offered for the unpaired design"):
        multiboot(base, expt, design="unpaired", nboot=10, rng=0, method="bca",
                  sample_examples=False)


def test_corrected_interval_is_narrower_and_refused_where_invalid():
    # per-run noise dominates (no seed effect): joint resampling counts it twice
    base, expt = (make_tidy(n_seeds=10, n_ex=200, seed=s, skill_sd=0) for s in (1, 2))
    p = multiboot(base, expt, design="paired", nboot=500, rng=0)
    c = multiboot(base, expt, design="paired", nboot=500, rng=0, method="corrected")
    assert np.diff(c.ci["delta"])[0] < np.diff(p.ci["delta"])[0]
    vc = c.details["variance_components"]["delta"]
    assert vc["variance"] > 0 and vc["interaction_removed"] > 0
    with pytest.raises(BootstrapInputError, match="means of per-example scores"):
        multiboot(base, expt, design="paired", nboot=10, rng=0, method="corrected", metric="mcc")
    # issue #11: with an axis switched off, "corrected" falls back to percentile, said in notes
    fb = multiboot(base, expt, design="paired", nboot=10, method="corrected", sample_seeds=False)
    assert fb.method == "percentile" and fb.details["method_requested"] == "corrected"
    assert any("with an axis switched off" in n for n in fb.notes)


# ------------------------------------------------------------------------------ result object

def test_result_object():
    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.8)
    r = multiboot(base, expt, design="paired", nboot=100, rng=0, abs_threshold=0.01)
    assert isinstance(r, MultiBootstrapResult)
    assert r.distribution.shape == (100, 2) and r.delta_distribution.shape == (100,)
    f = r.to_frame()
    assert list(f.quantity) == ["base", "expt", "delta"]
    for col in ("estimate", "bootstrap_mean", "low", "high", "p_value"):
        assert col in f.columns
    assert f.set_index("quantity").loc["delta", "p_value"] == r.pvalue
    assert np.isnan(f.set_index("quantity").loc["base", "p_value"])
    assert r.bootstrap_mean["delta"] == pytest.approx(r.delta_distribution.mean())
    s = r.summary()
    assert "paired" in s and "delta" in s and "p-value" in s and "P(delta >= 0.01)" in s
    assert repr(r).startswith("MultiBootstrapResult(paired, accuracy")
    single = multiboot(base, nboot=50, rng=0)
    assert single.distribution.shape == (50, 1) and single.delta_distribution is None
    assert single.pvalue is None and list(single.to_frame().quantity) == ["base"]
    np.testing.assert_array_equal(r.samples("base"), r.distribution[:, 0])


# ------------------------------------------------------------------------------ warnings

def test_one_seed_side_warns_that_the_seed_axis_contributes_nothing():
    base = make_tidy(n_seeds=1)
    with pytest.warns(UserWarning, match="single seed: with sample_seeds=True the seed axis "
                      "contributes nothing"):
        r = multiboot(base, nboot=10, rng=0)
    assert any("single seed" in w for w in r.warnings)


def test_few_seeds_warn_about_coverage():
    from multiberts_stats.bootstrap import COVERAGE_MIN_SEEDS

    base = make_tidy(n_seeds=3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = multiboot(base, nboot=10, rng=0)
    assert any("undercovers" in str(w.message) for w in rec)
    assert any(f"below {COVERAGE_MIN_SEEDS} seeds" in w for w in r.warnings)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = multiboot(make_tidy(n_seeds=COVERAGE_MIN_SEEDS, n_ft=1, n_ex=10), nboot=10, rng=0)
    assert not r.warnings and not rec


def test_paired_drops_one_sided_seeds_with_a_warning():
    base = make_tidy(seeds=[0, 1, 2, 3, 9], seed=1)
    expt = make_tidy(seeds=[0, 1, 2, 3], seed=2)
    with pytest.warns(UserWarning, match=r"1 seed\(s\) found on the base side only"):
        r = multiboot(base, expt, design="paired", nboot=10, rng=0)
    assert r.n_seeds == {"base": 4, "expt": 4}
    ref = multiboot(base[base.pretrain_seed != 9], expt, design="paired", nboot=10, rng=0)
    np.testing.assert_array_equal(r.distribution, ref.distribution)


# ------------------------------------------------------------------------------ errors

def test_errors():
    base, expt = make_tidy(seed=1), make_tidy(seed=2)
    E = BootstrapInputError
    with pytest.raises(E, match=r"The `nboot` parameter of multiboot must be a positive integer. "
                       r"Got -3 instead."):
        multiboot(base, nboot=-3)
    with pytest.raises(E, match=r"`confidence_level` parameter of multiboot must be a number strictly "
                       r"between 0 and 1. Got 95 instead."):
        multiboot(base, confidence_level=95)
    with pytest.raises(E, match=r"`metric` parameter of multiboot must be one of \[.*\] or a "
                       r"callable.*Got 'acc' instead."):
        multiboot(base, metric="acc")
    with pytest.raises(E, match="`design` parameter of multiboot must be one of"):
        multiboot(base, expt, design="pair")
    with pytest.raises(E, match="`expt` parameter of multiboot is required by design='paired'"):
        multiboot(base, design="paired")
    with pytest.raises(E, match="`design` parameter .* when `expt` is given. Got None"):
        multiboot(base, expt)
    with pytest.raises(E, match="`method` parameter of multiboot must be one of"):
        multiboot(base, method="studentized")
    with pytest.raises(E, match="`batch` parameter of multiboot must be a positive integer"):
        multiboot(base, batch=0)
    with pytest.raises(BootstrapTypeError, match="`rng` parameter of multiboot must be None"):
        multiboot(base, rng="seed")
    with pytest.raises(BootstrapTypeError, match="`base` parameter of multiboot must be a tidy"):
        multiboot(np.zeros((3, 3)))
    with pytest.raises(E, match="`base` parameter of multiboot must have at least one run. Got an "
                       "empty table"):
        multiboot(base.iloc[:0])
    with pytest.raises(E, match=r"needs the column\(s\) \['prediction'\]"):
        multiboot(base.drop(columns="prediction"))
    # misaligned example ids
    with pytest.raises(E, match=r"Example ids must align between the runs of the `base` table.*"
                       r"has 29 of the 30 example ids; missing e.g. \['ex007'\]"):
        multiboot(base[~((base.pretrain_seed == 1) & (base.finetune_seed == 0)
                         & (base.example_id == "ex007"))])
    dup = pd.concat([base, base.iloc[[5]]])
    with pytest.raises(E, match=r"one row per \(run, example_id\). Got 2 duplicated rows"):
        multiboot(dup)
    with pytest.raises(E, match="Example ids must align between `base` and `expt`"):
        multiboot(base, expt[expt.example_id != "ex003"], design="paired")
    bad = base.copy()
    bad.loc[bad.index[0], "prediction"] = np.nan
    with pytest.raises(E, match=r"`base\['prediction'\]` parameter of multiboot must not contain NaN"):
        multiboot(bad)
    bad = base.copy()
    bad.loc[bad.index[0], "label"] = np.inf
    with pytest.raises(E, match="`label` column of the `base` table .* must be the same in every run"):
        multiboot(bad)
    lab = base.assign(label=np.inf)
    with pytest.raises(E, match="must not contain NaN or inf"):
        multiboot(lab)
    with pytest.raises(E, match="paired design of multiboot needs seeds present on both sides"):
        multiboot(base, make_tidy(seeds=[7, 8]), design="paired")
    # matrix form
    ri = pd.DataFrame({"pretrain_seed": [0, 0, 1]})
    with pytest.raises(E, match=r"`base.preds` passed to multiboot must have one row per row of "
                       r"run_info. Got 2 rows of preds and 3 rows of run_info"):
        multiboot(MatrixRuns(ri, np.zeros((2, 4)), np.zeros(4)))
    with pytest.raises(E, match=r"`base.labels` passed to multiboot must have one entry per column "
                       r"of preds \(4\). Got shape \(5,\)"):
        multiboot(MatrixRuns(ri, np.zeros((3, 4)), np.zeros(5)))
    with pytest.raises(E, match="`base.preds` parameter of multiboot must not contain NaN"):
        multiboot(MatrixRuns(ri, np.full((3, 4), np.nan), np.zeros(4)))
    with pytest.raises(E, match="`base.example_ids` passed to multiboot must be unique"):
        multiboot(MatrixRuns(ri, np.zeros((3, 4)), np.zeros(4), example_ids=[1, 1, 2, 3]))


def test_sklearn_callables_and_reference_layout():
    from sklearn.metrics import accuracy_score, f1_score

    base, expt = make_tidy(seed=1), make_tidy(seed=2, p=0.8)
    a = multiboot(base, expt, design="paired", metric=f1_score, nboot=20, rng=0)
    b = multiboot(base, expt, design="paired", metric="f1", nboot=20, rng=0)
    assert a.details["path"] == "vectorised" and a.metric == "f1"
    np.testing.assert_allclose(a.distribution, b.distribution, rtol=1e-14)
    c = multiboot(base, expt, design="paired", metric=accuracy_score, nboot=20, rng=0)
    d = multiboot(base, expt, design="paired", nboot=20, rng=0)
    np.testing.assert_array_equal(c.distribution, d.distribution)
    # the published matrix layout, split by intervention
    ri = pd.DataFrame({"seed": [0, 0, 1, 1, 0, 1], "intervention": [0, 0, 0, 0, 1, 1]})
    preds = np.random.default_rng(0).integers(0, 2, (6, 10))
    mb, me = MatrixRuns.from_reference(ri, preds, np.zeros(10))
    r = multiboot(mb, me, design="paired", nboot=10, rng=0)
    assert r.n_runs == {"base": 4, "expt": 2}
