"""Bad input to the bootstrap that used to give silent wrong results (issue #13)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from test_bootstrap_modern import make_tidy

from multiberts_stats import metrics, multibootstrap
from multiberts_stats.bootstrap import BootstrapInputError, BootstrapTypeError, MatrixRuns, multiboot

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _layers(df, n=2):
    return pd.concat([df.assign(layer=k, prediction=np.where(
        np.random.default_rng(k).random(len(df)) < 0.1, 1 - df["prediction"], df["prediction"]))
        for k in range(n)], ignore_index=True)


def test_one_side_is_one_condition():
    df = _layers(make_tidy(seed=1))
    with pytest.raises(BootstrapInputError, match=r"`base` table passed to multiboot mixes "
                                                  r"conditions: `layer` takes the values \[0, 1\] "
                                                  r"inside pretrain_seed 0.*average_over=\['layer'\]"):
        multiboot(df, nboot=20, rng=0)
    with pytest.raises(BootstrapInputError, match=r"`expt` table .* mixes conditions: `task`"):
        base = make_tidy(seed=1).assign(task="sst2")
        expt = pd.concat([base, base.assign(task="cola")])
        multiboot(base, expt, design="paired", nboot=20, rng=0)
    pooled = multiboot(df, nboot=50, rng=0, average_over="layer")
    assert pooled.n_runs == {"base": 16} and pooled.details["average_over"] == ["layer"]
    declared = multiboot(df, nboot=50, rng=0, run_cols=["finetune_seed", "layer"])
    np.testing.assert_allclose(pooled.distribution, declared.distribution, rtol=1e-14)
    one = multiboot(df[df.layer == 1], nboot=50, rng=0)  # one condition: fine
    assert one.n_runs == {"base": 8}
    # a matrix side carries its run columns: the same rule
    m = MatrixRuns(pd.DataFrame({"pretrain_seed": [0, 0, 1, 1], "layer": [0, 1, 0, 1]}),
                   np.ones((4, 3)), np.ones(3))
    with pytest.raises(BootstrapInputError, match="mixes conditions: `layer`"):
        multiboot(m, nboot=10)
    multiboot(m, nboot=10, average_over=["layer"])
    with pytest.raises(BootstrapInputError, match=r"`average_over` parameter of multiboot names "
                                                  r"column\(s\) \['nope'\]"):
        multiboot(df, average_over="nope")


def _strings(df):
    return df.assign(label=np.where(df.label == 1, "pos", "neg"),
                     prediction=np.where(df.prediction == 1, "pos", "neg"))


def test_binary_metrics_know_their_positive_label():
    df = make_tidy(seed=1)
    num = multiboot(df, metric="f1", nboot=50, rng=0)
    with pytest.raises(BootstrapInputError, match=r"needs to know the positive class: the labels "
                                                  r"found .* are \['neg', 'pos'\].*pos_label="):
        multiboot(_strings(df), metric="f1", nboot=50, rng=0)
    s = multiboot(_strings(df), metric="f1", nboot=50, rng=0, pos_label="pos")
    assert s.estimate == num.estimate and s.estimate["base"] > 0.5
    np.testing.assert_array_equal(s.distribution, num.distribution)
    assert s.details["pos_label"] == "pos"
    # labels {0, 3}: not silently 0.0
    three = df.assign(label=df.label * 3, prediction=df.prediction * 3)
    with pytest.raises(BootstrapInputError, match=r"labels found .* are \[0.0, 3.0\]"):
        multiboot(three, metric="binary_f1", nboot=20, rng=0)
    assert multiboot(three, metric="f1", pos_label=3, nboot=50, rng=0).estimate == num.estimate
    # a prediction outside the label space is refused
    bad = df.copy()
    bad.loc[bad.index[4], "prediction"] = 2.0
    with pytest.raises(BootstrapInputError, match=r"binary: labels and predictions .* at most two "
                                                  r"values.*outside the labels: \[2.0\]"):
        multiboot(bad, metric="f1", nboot=20, rng=0)
    with pytest.raises(BootstrapInputError, match="`pos_label` parameter of multiboot applies to "
                                                  "binary metrics"):
        multiboot(df, metric="accuracy", pos_label=1)
    # the point function and the reference API follow the same rule
    with pytest.raises(ValueError, match="positive class"):
        metrics.binary_f1(["neg", "pos"], ["pos", "pos"])
    assert metrics.binary_f1(["neg", "pos"], ["pos", "pos"], pos_label="pos") == pytest.approx(2 / 3)
    ri = pd.DataFrame({"seed": [0, 1, 0, 1], "intervention": [False, False, True, True]})
    with pytest.raises(BootstrapInputError, match="positive class"):
        multibootstrap(ri, np.array([[0, 3, 3]] * 4), np.array([0, 3, 0]), metrics.binary_f1,
                       nboot=5, rng=0, verbose=False)


def test_score_fn_given_as_a_string():
    ri = pd.DataFrame({"seed": [0, 1, 0, 1], "intervention": [False, False, True, True]})
    labels = np.array([0, 1, 1, 0, 1])
    preds = np.array([[0, 1, 0, 0, 1], [0, 1, 1, 1, 1], [0, 1, 1, 0, 1], [0, 1, 1, 0, 0]])
    a = multibootstrap(ri, preds, labels, "accuracy", nboot=30, rng=0, verbose=False)
    b = multibootstrap(ri, preds, labels, metrics.accuracy, nboot=30, rng=0, verbose=False)
    assert a == b
    with pytest.raises(BootstrapInputError, match=r"`score_fn` parameter of multibootstrap must be "
                                                  r"a callable.*Got 'acuracy'"):
        multibootstrap(ri, preds, labels, "acuracy", nboot=3, verbose=False)
    with pytest.raises(BootstrapTypeError, match="`score_fn` parameter of multibootstrap"):
        multibootstrap(ri, preds, labels, 42, nboot=3, verbose=False)


@pytest.mark.parametrize("kind", ["object", "Int64", "Float64"])
def test_pd_na_in_predictions_is_a_clear_error(kind):
    df = make_tidy(seed=1)
    col = df["prediction"].astype(kind if kind != "object" else object).copy()
    col.iloc[3] = pd.NA
    bad = df.assign(prediction=col)
    with pytest.raises(BootstrapInputError, match=r"`base\['prediction'\]` parameter of multiboot "
                                                  r"must not contain NaN"):
        multiboot(bad, nboot=10, rng=0)
    labels = df.assign(label=df["label"].astype(object))
    labels.loc[labels.index[0], "label"] = None
    with pytest.raises(BootstrapInputError, match="must not contain NaN|must be the same in every"):
        multiboot(labels, nboot=10, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MatrixRuns(pd.DataFrame({"pretrain_seed": [0, 1]}),
                       np.array([[1, pd.NA, 0], [0, 1, 1]], dtype=object), np.array([1, 0, 1]))
    with pytest.raises(BootstrapInputError, match=r"`base.preds` parameter of multiboot must not "
                                                  r"contain NaN or missing values"):
        multiboot(m, nboot=10)


def test_compute_metric_passes_the_positive_label():
    t = {"label": ["neg", "pos", "pos"], "prediction": ["pos", "pos", "neg"]}
    assert metrics.compute_metric("binary_f1", t, pos_label="pos") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive class"):
        metrics.compute_metric("f1", t)
    with pytest.raises(ValueError, match="applies to binary metrics"):
        metrics.compute_metric("accuracy", t, pos_label="pos")
