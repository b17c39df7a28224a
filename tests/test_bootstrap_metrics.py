"""Vectorised metrics equal the point definitions of multiberts_stats.metrics, on the full data
and on every bootstrap replicate (same draws), including cluster resampling."""

import numpy as np
import pytest

from multiberts_stats import metrics
from multiberts_stats.bootstrap.engine import Units, counts_from_draws
from multiberts_stats.metrics import VEC_METRICS, sum_by_unit, vec_name_for_callable

RNG = np.random.default_rng(42)
N_EX, N_RUNS = 60, 4


def _data(kind):
    if kind == "binary":
        y = RNG.integers(0, 2, N_EX)
        p = np.where(RNG.random((N_RUNS, N_EX)) < 0.7, y, 1 - y)
    elif kind == "multi":
        y = RNG.integers(0, 3, N_EX)
        p = np.where(RNG.random((N_RUNS, N_EX)) < 0.6, y, RNG.integers(0, 4, (N_RUNS, N_EX)))
    else:  # regression
        y = RNG.uniform(0, 5, N_EX)
        p = y + RNG.normal(0, 1.5, (N_RUNS, N_EX))
    return y, p


def _f1_of_class_1(t, p):  # multi-class data: one-vs-rest F1 needs the class named (#13)
    return metrics.binary_f1(t, p, pos_label=1)


CASES = [("accuracy", metrics.accuracy, "multi"), ("error", metrics.error, "binary"),
         ("f1", metrics.binary_f1, "binary"), ("f1", _f1_of_class_1, "multi"),
         ("macro_f1", metrics.macro_f1, "multi"), ("mcc", metrics.matthews_corrcoef, "multi"),
         ("mcc", metrics.matthews_corrcoef, "binary"), ("pearson", metrics.pearson, "regression")]


def _replicates(vm, ex, run, units, draws):
    X = vm.unit_stats(ex, run, units.index, units.n_units)
    X = X.reshape(X.shape[0], -1)
    C = counts_from_draws(draws, units.n_units)
    n = C @ units.sizes
    k = X.shape[1] // run[vm.run_cols[0]].shape[0]
    full = vm.finish(X.sum(0, keepdims=True).reshape(1, -1, k), np.array([units.sizes.sum()]))[0]
    reps = vm.finish((C @ X).reshape(len(draws), -1, k), n)
    return full, reps


@pytest.mark.parametrize("name,fn,kind", CASES)
def test_vectorised_metric_equals_point_metric_on_every_replicate(name, fn, kind):
    y, p = _data(kind)
    vm = VEC_METRICS[name]
    units = Units(N_EX)
    draws = RNG.integers(0, N_EX, (30, N_EX))
    full, reps = _replicates(vm, {"label": y}, {"prediction": p}, units, draws)
    np.testing.assert_allclose(full, [fn(y, p[r]) for r in range(N_RUNS)], rtol=1e-12, atol=1e-12)
    want = np.array([[fn(y[jj], p[r, jj]) for r in range(N_RUNS)] for jj in draws])
    np.testing.assert_allclose(reps, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,fn,kind", CASES[:5])
def test_vectorised_metric_with_clusters(name, fn, kind):
    y, p = _data(kind)
    vm = VEC_METRICS[name]
    cl = RNG.integers(0, 12, N_EX)
    units = Units(N_EX, index=cl)
    draws = RNG.integers(0, 12, (20, 12))
    _, reps = _replicates(vm, {"label": y}, {"prediction": p}, units, draws)
    want = []
    for d in draws:
        jj = units.expand(d)
        assert len(jj) == sum((cl == u).sum() for u in d)
        want.append([fn(y[jj], p[r, jj]) for r in range(N_RUNS)])
    np.testing.assert_allclose(reps, want, rtol=1e-10, atol=1e-12)


def test_accuracy_replicates_are_bitwise_identical_to_mean_of_matches():
    y, p = _data("binary")
    vm = VEC_METRICS["accuracy"]
    draws = RNG.integers(0, N_EX, (10, N_EX))
    _, reps = _replicates(vm, {"label": y}, {"prediction": p}, Units(N_EX), draws)
    want = np.array([[np.mean(y[jj] == p[r, jj]) for r in range(N_RUNS)] for jj in draws])
    assert np.array_equal(reps, want)


@pytest.mark.parametrize("column,name", [("score", "mean"), ("exact_match", "exact_match"),
                                         ("f1", "squad_f1")])
def test_mean_metrics(column, name):
    v = RNG.random((N_RUNS, N_EX))
    vm = VEC_METRICS[name]
    draws = RNG.integers(0, N_EX, (15, N_EX))
    full, reps = _replicates(vm, {}, {column: v}, Units(N_EX), draws)
    np.testing.assert_allclose(full, v.mean(1), rtol=1e-13)
    np.testing.assert_allclose(reps, [[metrics.mean(v[r, jj]) for r in range(N_RUNS)] for jj in draws],
                               rtol=1e-12)


def _winogender(n_occ=15):
    occ = np.repeat([f"occ{i:02d}" for i in range(n_occ)], 6)
    gender = np.tile(["male", "female", "neutral"], 2 * n_occ)
    bls = np.repeat(RNG.uniform(0, 100, n_occ), 6)
    p = RNG.integers(0, 2, (N_RUNS, len(occ)))
    return p, gender, occ, bls


@pytest.mark.parametrize("which", ["r", "slope"])
def test_winogender_bias_on_resampled_occupations(which):
    p, gender, occ, bls = _winogender()
    vm = VEC_METRICS[f"winogender_bias_{which}"]
    fn = getattr(metrics, f"winogender_bias_{which}")
    codes = np.unique(occ, return_inverse=True)[1]
    units = Units(len(occ), index=codes)
    ex = {"gender": gender, "occupation": occ, "bls_pct_female": bls}
    draws = RNG.integers(0, units.n_units, (20, units.n_units))
    full, reps = _replicates(vm, ex, {"prediction": p}, units, draws)
    np.testing.assert_allclose(full, [fn(p[r], gender, occ, bls) for r in range(N_RUNS)], rtol=1e-10)
    want = []
    for d in draws:
        # the plain function on the drawn sentences, a twice-drawn occupation relabelled so that
        # it counts twice (the bootstrap semantics of resampling clusters)
        jj = units.expand(d)
        copy = np.concatenate([np.full((codes == u).sum(), i) for i, u in enumerate(d)])
        occ_rep = np.char.add(occ[jj].astype(str), np.char.add("#", copy.astype(str)))
        want.append([fn(p[r, jj], gender[jj], occ_rep, bls[jj]) for r in range(N_RUNS)])
    np.testing.assert_allclose(reps, want, rtol=1e-9, atol=1e-12)


def test_undefined_values_match_point_definitions():
    y = np.array([0, 0, 0, 0])
    p = np.array([[0, 0, 0, 0], [1, 1, 0, 0]])
    for name, fn in (("f1", metrics.binary_f1), ("mcc", metrics.matthews_corrcoef),
                     ("macro_f1", metrics.macro_f1)):
        full, _ = _replicates(VEC_METRICS[name], {"label": y}, {"prediction": p}, Units(4),
                              np.zeros((1, 4), int))
        np.testing.assert_allclose(full, [fn(y, p[0]), fn(y, p[1])])
    yc = np.array([1.0, 2.0, 3.0])
    pc = np.array([[2.0, 2.0, 2.0]])
    full, _ = _replicates(VEC_METRICS["pearson"], {"label": yc}, {"prediction": pc}, Units(3),
                          np.zeros((1, 3), int))
    assert np.isnan(full[0]) and np.isnan(metrics.pearson(yc, pc[0]))


def test_callables_are_recognised_without_importing_sklearn():
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    assert vec_name_for_callable(accuracy_score) == "accuracy"
    assert vec_name_for_callable(f1_score) == "f1"
    assert vec_name_for_callable(matthews_corrcoef) == "mcc"
    assert vec_name_for_callable(metrics.accuracy) == "accuracy"
    assert vec_name_for_callable(metrics.matthews_corrcoef) == "mcc"
    assert vec_name_for_callable(metrics.spearman) is None
    assert vec_name_for_callable(lambda a, b: 0.0) is None


def test_sum_by_unit():
    E = np.arange(12.0).reshape(6, 2)
    out = sum_by_unit(E, np.array([2, 0, 2, 1, 0, 2]), 4)
    np.testing.assert_array_equal(out, [[2 + 8, 3 + 9], [6, 7], [0 + 4 + 10, 1 + 5 + 11], [0, 0]])


def test_one_registry_aliases_and_identity():
    """One registry: each entry carries its point and vectorised forms; `binary_f1` is the
    documented alias of `f1`; callables map by identity, never by name."""
    from multiberts_stats.metrics import METRICS, get_metric, metric_for_callable

    assert get_metric("binary_f1") is METRICS["f1"] and "binary_f1" not in list(METRICS)
    assert all(VEC_METRICS[n] is METRICS[n].vectorised for n in VEC_METRICS)
    assert set(VEC_METRICS) == {n for n, m in METRICS.items() if m.decomposable}
    for m in METRICS.values():
        assert m.columns and m.undefined and callable(m.fn)

    def accuracy_score(y_true, y_pred):  # same name as sklearn's, different function
        return 0.0

    assert metric_for_callable(accuracy_score) is None
    from sklearn.metrics import f1_score

    assert metric_for_callable(f1_score).binary_only
    with pytest.raises(ValueError, match=r"`metric` parameter must be one of \["):
        get_metric("f2")
