"""The reference-compatible multibootstrap / report_ci: same draws, same numbers as a plain loop
written from the published semantics, hand-checked values, and clear errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from multiberts_stats import metrics, multibootstrap, report_ci
from multiberts_stats.bootstrap import BootstrapInputError


def plain_multibootstrap(run_info, preds, labels, score_fn, paired_seeds=False, sample_seeds=True,
                         sample_examples=True, nboot=500, rng=0):
    """The published semantics as a plain loop (common seeds sorted)."""
    if isinstance(rng, int):
        rng = np.random.RandomState(rng)
    run_info = run_info.reset_index(drop=True)
    mask = run_info["intervention"].to_numpy()
    b = {s: list(g.index) for s, g in run_info[~mask].groupby("seed")}
    e = {s: list(g.index) for s, g in run_info[mask].groupby("seed")}
    if paired_seeds:
        bs = es = sorted(set(b) & set(e))
    else:
        bs, es = sorted(b), sorted(e)
    out = []
    for _ in range(nboot):
        if sample_seeds:
            x = rng.choice(bs, size=len(bs), replace=True)
            y = x if paired_seeds else rng.choice(es, size=len(es), replace=True)
        else:
            x, y = bs, es
        if sample_examples:
            jj = rng.choice(len(labels), size=len(labels), replace=True)
        else:
            jj = np.arange(len(labels))

        def side(rows, seeds):
            return np.mean([np.mean([score_fn(labels[jj], preds[i, jj]) for i in rows[s]])
                            for s in seeds])

        out.append((side(b, x), side(e, y)))
    return out


def make_data(n_seeds=4, n_runs=2, n_ex=40, seed=0, multiclass=False, extra_seed=False):
    rs = np.random.RandomState(seed)
    k = 3 if multiclass else 2
    labels = rs.randint(0, k, n_ex)
    seeds = list(range(n_seeds))
    rows = [(s, f, inter) for inter in (False, True) for s in seeds for f in range(n_runs)]
    if extra_seed:
        rows += [(99, 0, False), (77, 0, True)]
    run_info = pd.DataFrame(rows, columns=["seed", "ft", "intervention"])
    acc = np.where(run_info["intervention"].to_numpy(), 0.75, 0.7)[:, None]
    preds = np.where(rs.rand(len(run_info), n_ex) < acc, labels, rs.randint(0, k, (len(run_info), n_ex)))
    # shuffle rows so that runs of a seed are not contiguous
    perm = rs.permutation(len(run_info))
    return run_info.iloc[perm].reset_index(drop=True), preds[perm], labels


SWITCHES = [(p, s, e) for p in (True, False) for s in (True, False) for e in (True, False)]


@pytest.mark.parametrize("paired,ss,se", SWITCHES)
def test_identical_to_plain_loop_with_sklearn_accuracy(paired, ss, se):
    run_info, preds, labels = make_data()
    got = multibootstrap(run_info, preds, labels, accuracy_score, paired, ss, se, nboot=25, rng=7,
                         verbose=False)
    want = plain_multibootstrap(run_info, preds, labels, accuracy_score, paired, ss, se, 25, 7)
    assert len(got) == 25 and len(got[0]) == 2
    assert np.array_equal(np.array(got), np.array(want))  # bit for bit


@pytest.mark.parametrize("score_fn,multiclass", [
    (f1_score, False), (matthews_corrcoef, True), (metrics.accuracy, True),
    (metrics.macro_f1, True), (metrics.binary_f1, False),
    (lambda t, p: float(np.mean(t == p)) ** 2, False),  # general path
    (metrics.spearman, False),  # general path, non-decomposable
])
@pytest.mark.parametrize("paired", [True, False])
def test_agrees_with_plain_loop_for_other_scorers(score_fn, multiclass, paired):
    run_info, preds, labels = make_data(n_seeds=3, n_ex=30, multiclass=multiclass, seed=3)
    got = multibootstrap(run_info, preds, labels, score_fn, paired, nboot=8, rng=11, verbose=False)
    want = plain_multibootstrap(run_info, preds, labels, score_fn, paired, True, True, 8, 11)
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=1e-14)


def test_sklearn_f1_on_multiclass_data_defers_to_sklearn():
    run_info, preds, labels = make_data(n_seeds=2, n_ex=10, multiclass=True)
    with pytest.raises(ValueError, match="average"):
        multibootstrap(run_info, preds, labels, f1_score, nboot=2, rng=0, verbose=False)


def test_choice_and_index_draws_consume_the_stream_identically():
    items = np.array([3, 9, 27, 81, 243])
    for make in (np.random.RandomState, lambda s: np.random.default_rng(s)):
        a, b = make(5), make(5)
        for _ in range(20):
            np.testing.assert_array_equal(a.choice(items, size=5, replace=True),
                                          items[b.choice(5, size=5, replace=True)])
        # a RandomState's choice is randint(0, n, n)
    a, b = np.random.RandomState(9), np.random.RandomState(9)
    np.testing.assert_array_equal(a.choice(1000, size=1000, replace=True), b.randint(0, 1000, 1000))


class Scripted:
    """An rng whose choice() returns scripted index draws (for hand-checked values)."""

    def __init__(self, draws):
        self.draws = list(draws)

    def choice(self, n, size, replace):
        d = np.asarray(self.draws.pop(0))
        assert len(d) == size == n and replace
        return d


def hand_data():
    # 2 seeds x 2 runs x 3 examples per side
    run_info = pd.DataFrame({"seed": [0, 0, 1, 1, 0, 0, 1, 1],
                             "intervention": [False] * 4 + [True] * 4})
    labels = np.array([1, 0, 1])
    preds = np.array([[1, 0, 1],   # base s0: acc 1
                      [1, 1, 1],   # base s0: 2/3
                      [0, 0, 1],   # base s1: 2/3
                      [0, 1, 0],   # base s1: 0
                      [1, 0, 1],   # expt s0: 1
                      [1, 0, 1],   # expt s0: 1
                      [1, 1, 1],   # expt s1: 2/3
                      [0, 0, 1]])  # expt s1: 2/3
    return run_info, preds, labels


def test_hand_checked_values():
    run_info, preds, labels = hand_data()
    # full data: base = mean(mean(1, 2/3), mean(2/3, 0)) = 7/12 ; expt = mean(1, 2/3) = 5/6
    (b, e), = multibootstrap(run_info, preds, labels, accuracy_score, sample_seeds=False,
                             sample_examples=False, nboot=1, verbose=False)
    assert b == pytest.approx(7 / 12) and e == pytest.approx(5 / 6)
    # paired: seeds drawn [1, 1]; examples drawn [0, 0, 2] -> labels [1, 1, 1]
    #   base s1 runs: [0,0,1]->[0,0,1] 1/3 ; [0,1,0]->[0,0,0] 0    => seed mean 1/6, side 1/6
    #   expt s1 runs: [1,1,1]->[1,1,1] 1   ; [0,0,1]->[0,0,1] 1/3  => 2/3
    # second replicate: seeds [0, 1]; examples [1, 1, 1] -> labels [0, 0, 0]
    #   base s0: [1,0,1]->[0,0,0] 1 ; [1,1,1]->[1,1,1] 0 => 1/2 ; s1: [0,0,1]->[0,0,0] 1 ; [0,1,0]-> [1,1,1] 0 => 1/2
    #   base = 1/2 ; expt s0: both [0,0,0] -> 1 ; s1: [1,1,1] -> 0, [0,0,0] -> 1 => 1/2 ; expt = 3/4
    rng = Scripted([[1, 1], [0, 0, 2], [0, 1], [1, 1, 1]])
    got = multibootstrap(run_info, preds, labels, accuracy_score, paired_seeds=True, nboot=2,
                         rng=rng, verbose=False)
    np.testing.assert_allclose(np.array(got), [[1 / 6, 2 / 3], [1 / 2, 3 / 4]])
    # unpaired draws base seeds, then expt seeds, then examples
    rng = Scripted([[1, 1], [0, 0], [0, 0, 2]])
    (b, e), = multibootstrap(run_info, preds, labels, accuracy_score, nboot=1, rng=rng, verbose=False)
    # expt s0 on examples [0,0,2]: both runs [1,1,1] vs labels [1,1,1] -> 1
    assert b == pytest.approx(1 / 6) and e == pytest.approx(1.0)


def test_rng_int_and_randomstate_give_the_same_samples():
    run_info, preds, labels = make_data()
    a = multibootstrap(run_info, preds, labels, accuracy_score, nboot=10, rng=3, verbose=False)
    b = multibootstrap(run_info, preds, labels, accuracy_score, nboot=10,
                       rng=np.random.RandomState(3), verbose=False)
    c = multibootstrap(run_info, preds, labels, accuracy_score, nboot=10, rng=3, verbose=False,
                       batch=3)
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_default_rng_uses_numpy_global_state_like_the_published_code():
    run_info, preds, labels = make_data(n_seeds=3, n_ex=20)
    saved = np.random.get_state()
    try:
        np.random.seed(123)
        got = multibootstrap(run_info, preds, labels, accuracy_score, nboot=5, verbose=False)
        np.random.seed(123)
        want = plain_multibootstrap(run_info, preds, labels, accuracy_score, nboot=5, rng=np.random)
    finally:
        np.random.set_state(saved)
    assert np.array_equal(got, want)


def test_string_labels_and_string_seeds():
    run_info, preds, labels = make_data(n_seeds=3, n_ex=20)
    names = np.array(["neg", "pos"])
    run_info = run_info.assign(seed=run_info["seed"].map(lambda s: f"seed_{s}"))
    got = multibootstrap(run_info, names[preds], names[labels], accuracy_score, True, nboot=6,
                         rng=1, verbose=False)
    want = multibootstrap(run_info, preds, labels, accuracy_score, True, nboot=6, rng=1,
                          verbose=False)
    assert np.array_equal(got, want)


def test_one_sided_seeds_are_dropped_with_a_warning(capsys):
    run_info, preds, labels = make_data(n_seeds=3, n_ex=20, extra_seed=True)
    with pytest.warns(UserWarning) as rec:
        got = multibootstrap(run_info, preds, labels, accuracy_score, True, nboot=6, rng=1)
    msgs = [str(w.message) for w in rec]
    assert any("base side only" in m and "[99]" in m for m in msgs)
    assert any("expt side only" in m and "[77]" in m for m in msgs)
    assert "Common seeds (3): [0, 1, 2]" in capsys.readouterr().out
    keep = run_info["seed"].isin([0, 1, 2]).to_numpy()
    want = plain_multibootstrap(run_info, preds, labels, accuracy_score, True, nboot=6, rng=1)
    assert np.array_equal(got, want)
    ref = multibootstrap(run_info[keep], preds[keep], labels, accuracy_score, True, nboot=6, rng=1,
                         verbose=False)
    assert np.array_equal(got, ref)


def test_progress_indicator_wraps_the_loop():
    run_info, preds, labels = make_data(n_seeds=2, n_ex=10)
    seen = []

    def progress(it):
        for i in it:
            seen.append(i)
            yield i

    multibootstrap(run_info, preds, labels, accuracy_score, nboot=4, rng=0, verbose=False,
                   progress_indicator=progress)
    assert seen == [0, 1, 2, 3]


# ------------------------------------------------------------------------------ report_ci

def test_report_ci_values(capsys):
    rs = np.random.RandomState(0)
    samples = [(0.7 + rs.normal(0, .01), 0.72 + rs.normal(0, .01)) for _ in range(200)]
    ret = report_ci(samples, c=0.9, abs_threshold=0.01, rel_threshold=0.02)
    out = capsys.readouterr().out
    assert "Bootstrap statistics from 200 samples" in out and "p-value" in out
    a = np.array(samples)
    d = a[:, 1] - a[:, 0]
    assert ret["base"]["mean"] == pytest.approx(a[:, 0].mean())
    q = [(1 - 0.9) / 2, 1 - (1 - 0.9) / 2]
    assert (ret["base"]["low"], ret["base"]["high"]) == tuple(np.quantile(a[:, 0], q))
    assert (ret["delta"]["low"], ret["delta"]["high"]) == tuple(np.quantile(d, q))
    assert ret["delta"]["p"] == max(np.mean(d <= 0), 1 / 200)
    assert ret["delta"]["p_abs_threshold"] == np.mean(d >= 0.01)
    assert ret["delta"]["p_rel_threshold"] == np.mean(d / a[:, 0] >= 0.02)
    neg = report_ci(samples, expect_negative_effect=True, abs_threshold=0.0, verbose=False)
    assert neg["delta"]["p"] == max(np.mean(d >= 0), 1 / 200)
    assert neg["delta"]["p_abs_threshold"] == np.mean(d <= 0)
    assert capsys.readouterr().out == ""


def test_report_ci_floors_p_at_one_over_nboot():
    ret = report_ci([(0.1, 0.5)] * 40, verbose=False)
    assert ret["delta"]["p"] == 1 / 40
    assert set(ret["delta"]) == {"mean", "low", "high", "p"}


def test_report_ci_low_le_mean_le_high():
    rs = np.random.RandomState(1)
    ret = report_ci(rs.rand(300, 2), verbose=False)
    for q in ("base", "expt", "delta"):
        assert ret[q]["low"] <= ret[q]["mean"] <= ret[q]["high"]


# ------------------------------------------------------------------------------ errors

def test_errors():
    run_info, preds, labels = make_data(n_seeds=2, n_ex=10)
    kw = dict(nboot=2, rng=0, verbose=False)
    with pytest.raises(BootstrapInputError, match=r"`preds` parameter of multibootstrap must have one "
                       r"row per row of `run_info`. Got 15 rows of preds and 8 rows"):
        multibootstrap(run_info, np.vstack([preds, preds[:7]]), labels, accuracy_score, **kw)
    with pytest.raises(BootstrapInputError, match=r"`labels` parameter .* Got labels of shape \(9,\)"):
        multibootstrap(run_info, preds, labels[:9], accuracy_score, **kw)
    bad = preds.astype(float)
    bad[1, 2] = np.nan
    with pytest.raises(BootstrapInputError, match=r"`preds` parameter of multibootstrap must not "
                       r"contain NaN or inf. Got 1 non-finite value\(s\), the first at index \(1, 2\)"):
        multibootstrap(run_info, bad, labels, accuracy_score, **kw)
    with pytest.raises(BootstrapInputError, match="`labels` .* must not contain NaN or inf"):
        multibootstrap(run_info, preds, np.r_[labels[:-1], np.inf], accuracy_score, **kw)
    with pytest.raises(BootstrapInputError, match="at least one run on each side. Got no rows on the expt"):
        keep = ~run_info["intervention"].to_numpy()
        multibootstrap(run_info[keep], preds[keep], labels, accuracy_score, **kw)
    ri2 = run_info.assign(seed=np.where(run_info["intervention"], run_info["seed"] + 10, run_info["seed"]))
    with pytest.raises(BootstrapInputError, match=r"paired_seeds=True.*none in common"):
        multibootstrap(ri2, preds, labels, accuracy_score, paired_seeds=True, **kw)
    for nb in (0, -3, 2.5, True):
        with pytest.raises(BootstrapInputError, match=rf"`nboot` parameter of multibootstrap must be a "
                           rf"positive integer. Got {nb!r} instead."):
            multibootstrap(run_info, preds, labels, accuracy_score, nboot=nb, verbose=False)
    with pytest.raises(BootstrapInputError, match="must have columns 'seed' and 'intervention'"):
        multibootstrap(run_info.drop(columns="seed"), preds, labels, accuracy_score, **kw)
    for c in (0, 1, 1.5, -0.1):
        with pytest.raises(BootstrapInputError, match=rf"`c` parameter of report_ci must be a number "
                           rf"strictly between 0 and 1. Got {c!r} instead."):
            report_ci([(0.1, 0.2)], c=c, verbose=False)
    with pytest.raises(BootstrapInputError, match="`samples` parameter of report_ci"):
        report_ci([], verbose=False)
