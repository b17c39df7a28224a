"""Which randomness matters: compare_randomness on hand-checked tables, against a plain loop on
the same draws, and its verdict's false-positive rate in simulation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import binomtest

from multiberts_stats.errors import FewSeedsWarning
from multiberts_stats.analysis.randomness import compare_randomness, seed_scores


def _table(correct: np.ndarray, cluster=None) -> pd.DataFrame:
    s, n = correct.shape
    df = pd.DataFrame({"pretrain_seed": np.repeat(np.arange(s), n),
                       "example_id": np.tile([f"e{j:03d}" for j in range(n)], s),
                       "label": 1, "prediction": correct.ravel().astype(int)})
    if cluster is not None:
        df["cluster"] = np.tile(cluster, s)
    return df


def test_point_values_by_hand():
    a = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]])      # seed scores 1, .5, 0
    b = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]])      # .5, .75, .25
    with pytest.warns(FewSeedsWarning, match="3 and 3 seeds"):
        rep = compare_randomness(_table(a), _table(b), nboot=50, seed=0)
    assert rep.variance_a == pytest.approx(0.25)                 # var(1, .5, 0), ddof 1
    assert rep.variance_b == pytest.approx(0.0625)               # var(.5, .75, .25)
    assert rep.ratio == pytest.approx(4.0)
    lo = 4.0 / stats.f.ppf(0.975, 2, 2)
    hi = 4.0 / stats.f.ppf(0.025, 2, 2)
    assert rep.f_ci == pytest.approx((lo, hi))
    assert rep.verdict == "undetermined" and rep.n_seeds == (3, 3) and rep.n_units == 4
    assert list(seed_scores(_table(a))) == [1.0, 0.5, 0.0]
    assert set(rep.scores["family"]) == {"data order", "initialisation"}


def test_bootstrap_equals_a_plain_loop_on_the_same_draws():
    rng = np.random.default_rng(3)
    a = (rng.random((4, 30)) < 0.6).astype(int)
    b = (rng.random((5, 30)) < 0.6).astype(int)
    clusters = np.repeat([f"c{k}" for k in range(6)], 5)
    for unit in ("example", "cluster"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = compare_randomness(_table(a, clusters), _table(b, clusters), nboot=200,
                                     seed=11, unit=unit)
        draws = np.random.default_rng(11)
        groups = np.arange(30) if unit == "example" else np.repeat(np.arange(6), 5)
        k = groups.max() + 1
        counts = draws.multinomial(k, np.full(k, 1 / k), size=200)
        ia = draws.integers(0, 4, size=(200, 4))
        ib = draws.integers(0, 5, size=(200, 5))
        ref = []
        for r in range(200):
            w = counts[r][groups]                       # each example weighted by its unit's draw
            sa = [np.sum(a[i] * w) / w.sum() for i in ia[r]]
            sb = [np.sum(b[i] * w) / w.sum() for i in ib[r]]
            with np.errstate(divide="ignore", invalid="ignore"):
                ref.append(np.var(sa, ddof=1) / np.var(sb, ddof=1))
        np.testing.assert_allclose(rep.distribution, ref, rtol=1e-12)


def test_bad_input_is_refused():
    t = _table(np.ones((3, 4), int))
    with pytest.raises(ValueError, match="at least 2 pretraining seeds"):
        compare_randomness(t, t[t.pretrain_seed == 0])
    with pytest.raises(ValueError, match="several rows per"):
        compare_randomness(pd.concat([t, t]), t)
    with pytest.raises(ValueError, match="share no example_id"):
        compare_randomness(t, t.assign(example_id="x" + t["example_id"]))
    with pytest.raises(ValueError, match="`method` parameter .* 'f' or 'bootstrap'"):
        compare_randomness(t, t, method="perm")
    with pytest.raises(ValueError, match="`metric` parameter .* Got 'margin'"):
        compare_randomness(t, t, metric="margin")


@pytest.mark.slow
def test_false_positive_rate_and_power_in_simulation():
    """The F rule's false-positive rate is nominal at 4 seeds; a dominant factor is found."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from randomness_power import run

    rng = np.random.default_rng(7)
    null = run(4, 1, 200, 300, 50, rng)
    assert binomtest(round(null["f"] * 200), 200, 0.05).pvalue > 0.01
    assert null["bootstrap"] <= 0.05
    planted = run(4, 64, 100, 300, 50, rng)
    assert planted["f"] > 0.4
