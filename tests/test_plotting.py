"""Figures render headless (Agg) and draw what they claim: counts of artists, labels, numbers."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from _analysis_data import paired_tables, steps_table
from matplotlib.container import ErrorbarContainer

from multiberts_stats import analysis as A
from multiberts_stats import plotting as P


@pytest.fixture(scope="module")
def report():
    base, expt = paired_tables("artifact_only", seed=2, n_ex=300)
    return A.artifact_vs_procedure(base, expt, design="paired", nboot=100, rng=0)


def _errorbar_x_extent(container):
    """(low, high) of the horizontal error bar of a one-point ErrorbarContainer."""
    segs = container.lines[2][0].get_segments()
    xs = np.concatenate([s[:, 0] for s in segs])
    return xs.min(), xs.max()


def test_forest_plot_content(report, tmp_path):
    import matplotlib.pyplot as plt

    n_before = len(plt.get_fignums())
    ax = P.forest_plot(report)
    assert len(plt.get_fignums()) == n_before + 1  # a pyplot figure, as notebooks expect
    plt.close(ax.figure)
    ax = P.forest_plot(report, ax=P.new_axes())
    assert len(plt.get_fignums()) == n_before  # ... and none with pyplot-free axes
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == len(report.artifacts) + 1
    # the procedure interval drawn equals the numbers of the report
    lo, hi = _errorbar_x_extent(bars[-1])
    assert (lo, hi) == pytest.approx(report.procedure_ci)
    assert bars[-1].lines[0].get_xdata()[0] == pytest.approx(report.procedure_estimate)
    # each artifact bar equals its row
    for c, (_, r) in zip(bars[:-1], report.artifacts.iterrows()):
        assert _errorbar_x_extent(c) == pytest.approx((r.low, r.high))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"seed {s}" for s in range(5)] + ["procedure"]
    assert [p for p in ax.patches if p.get_gid() == "procedure_band"]
    assert "difference" in ax.get_xlabel() and "accuracy" in ax.get_xlabel()
    ax.figure.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_forest_plot_on_given_axes_and_frame(report):
    from matplotlib.figure import Figure

    fig = Figure()
    ax0 = fig.add_subplot(121)
    assert P.forest_plot(report.to_frame(), ax=ax0) is ax0
    with pytest.raises(ValueError, match="Missing"):
        P.forest_plot(pd.DataFrame({"x": [1]}))


def test_learning_curve_plot_bands():
    t = steps_table(seed=0, n_ex=200, layers=(0, 1, 2))
    lc = A.learning_curve(t, group_cols=["layer"], nboot=50, rng=0, eps=0.05)
    ax = P.learning_curve_plot(lc)
    assert len(ax.lines) == 3
    assert len(ax.collections) - len([c for c in ax.collections if c.get_gid() == "within_eps"]) == 3
    # band of layer 0 equals the curve's numbers
    band = ax.collections[0]
    verts = band.get_paths()[0].vertices
    sub = lc.curve[lc.curve.layer == 0]
    assert verts[:, 1].min() == pytest.approx(sub.low.min())
    assert verts[:, 1].max() == pytest.approx(sub.high.max())
    np.testing.assert_allclose(ax.lines[0].get_ydata(), sub.estimate)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:3] == ["layer=0", "layer=1", "layer=2"]
    assert texts[3:] == ["first step within ε = 0.05 of the final\nvalue (equivalence test)"]
    assert ax.get_xlabel().startswith("pretraining step")
    # many groups fall back to viridis, still one line per group
    t13 = steps_table(seed=0, n_ex=60, layers=range(9), steps=(0, 2000))
    lc13 = A.learning_curve(t13, group_cols=["layer"], nboot=20, rng=0, compare=())
    assert len(P.learning_curve_plot(lc13).lines) == 9


def test_bootstrap_distribution_plot(report):
    ax = P.bootstrap_distribution_plot(report.procedure, bins=25)
    assert len(ax.patches) == 25
    ci_lines = [ln for ln in ax.lines if ln.get_gid() == "ci"]
    assert sorted(ln.get_xdata()[0] for ln in ci_lines) == pytest.approx(report.procedure_ci)
    assert [ln for ln in ax.lines if ln.get_gid() == "null"]
    counts = np.array([p.get_height() for p in ax.patches])
    assert counts.sum() == report.nboot


def test_agreement_histogram():
    base, _ = paired_tables("null", seed=1, n_seeds=4, n_ex=300)
    ag = A.agreement(base)
    ax = P.agreement_histogram(ag)
    assert len(ax.patches) == 5  # shares 0, 1/4, ..., 1
    heights = [p.get_height() for p in ax.patches]
    expected = ag.per_example.share_seeds_correct.value_counts().reindex(
        np.arange(5) / 4, fill_value=0)
    assert heights == list(expected)
    assert f"{ag.n_flipping} of 300" in ax.get_title()


def test_variance_bars(report):
    ax = P.variance_bars(report)
    d = report.decomposition
    assert [p.get_height() for p in ax.patches] == pytest.approx(
        np.sqrt([d.joint, d.seeds, d.examples]))
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "seeds and examples", "seeds only", "examples only"]
    ax = P.variance_bars(d, scale="variance")
    assert ax.patches[1].get_height() == pytest.approx(d.seeds)
    with pytest.raises(ValueError, match="`scale` parameter"):
        P.variance_bars(d, scale="x")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_palette_is_okabe_ito():
    assert P.OKABE_ITO[:3] == ["#E69F00", "#56B4E9", "#009E73"]
