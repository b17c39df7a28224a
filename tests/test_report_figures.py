"""The report's content and its figures, checked by what they hold (titles, legends, artists),
on a synthetic three-step, two-layer table with a planted learning effect."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _analysis_data import base_correct, improve, tidy

from multiberts_stats import plotting
from multiberts_stats.analysis import agreement, artifact_vs_procedure, learning_curve
from multiberts_stats.analysis.report import write_report


@pytest.fixture(scope="module")
def steps_layers():
    rng = np.random.default_rng(3)
    labels = (rng.random(300) < 0.6).astype(float)
    seeds = [0, 1, 2, 3, 4]
    c0 = base_correct(rng, n_seeds=5, n_ex=300, acc=0.6)
    frames = []
    for layer, extra in ((0, 0.0), (1, 0.05)):
        for step, share in ((0, 0.0), (10, 0.2 + extra), (50, 0.35 + extra)):
            frames.append(tidy(improve(c0, rng, share), labels, seeds=seeds, step=step,
                               layer=layer, task="toy"))
    return pd.concat(frames, ignore_index=True)


def test_report_findings_baselines_banner_and_tables(steps_layers, tmp_path):
    path = write_report(steps_layers, tmp_path / "r", nboot=200, rng=0, title="toy experiment",
                        fmt="html")
    html = path.read_text()
    assert "<title>toy experiment</title>" in html
    # every <li> sits inside a <ul>
    assert html.count("<li>") and html.count("<ul>") == html.count("</ul>")
    for chunk in html.split("<li>")[1:]:
        before = html[: html.index("<li>" + chunk)]
        assert before.rfind("<ul>") > before.rfind("</ul>")
    rows = json.loads((tmp_path / "r" / "findings.json").read_text())
    comps = [r["comparison"] for r in rows]
    assert "step 50 vs step 0 (best layer, 1)" in comps
    assert any(c.startswith("layer 1 vs layer 0") for c in comps)
    assert any(c.endswith("vs majority class") for c in comps)
    main = rows[comps.index("step 50 vs step 0 (best layer, 1)")]
    assert main["low"] > 0 and main["baseline"] is not None and main["p_adjusted"] < 0.05
    assert pd.read_csv(tmp_path / "r" / "findings.csv").shape[0] == len(rows)
    est = pd.read_csv(tmp_path / "r" / "tables" / "toy_probe_estimates.csv")
    assert {"step_0_baseline", "majority_baseline"} <= set(est.columns)
    assert est["majority_baseline"].iloc[0] == pytest.approx(0.6, abs=0.06)
    # warnings: once, at the top, before the findings
    md = write_report(steps_layers, tmp_path / "m", nboot=200, rng=0).read_text()
    few = [ln for ln in md.splitlines() if "Only 5 seeds" in ln]
    assert len(few) == 1 and md.index(few[0]) < md.index("## Findings")
    assert "design `None`" not in md and "None |" not in md
    assert "equivalence test" in md and "ε = 0.01" in md


@pytest.mark.filterwarnings("ignore::multiberts_stats.errors.MultibertsStatsWarning")
def test_figures_titles_legends_and_artists(steps_layers):
    g = steps_layers
    lc = learning_curve(g, group_cols=["layer"], nboot=100, rng=0, eps=0.01)
    ax = plotting.learning_curve_plot(lc, title="toy, probe, accuracy: learning curve",
                                      show_warnings=False)
    assert "toy" in ax.get_title() and "accuracy" in ax.get_title()
    leg = ax.get_legend()
    labels = [t.get_text() for t in leg.get_texts()]
    assert "layer=0" in labels and any("equivalence test" in t for t in labels)
    # the legend is outside the axes: it cannot cover a band
    assert leg.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1
    assert len(ax.lines) == 2 and len(ax.collections) >= 2  # a line and a band per layer
    assert not [t for t in ax.texts if t.get_gid() == "warning"]

    last = g[g.step == 50]
    rep = artifact_vs_procedure(last[last.layer == 0], last[last.layer == 1], design="paired",
                                nboot=100, rng=0)
    ax = plotting.bootstrap_distribution_plot(rep.procedure, title="toy: layer 1 vs layer 0")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["95% interval", "estimate", "no difference"]
    assert ax.get_title() == "toy: layer 1 vs layer 0"

    ag = agreement(last[last.layer == 1])
    ax = plotting.agreement_histogram(ag, title="toy, accuracy: agreement")
    centres = sorted(p.get_x() + p.get_width() / 2 for p in ax.patches)
    ticks = sorted(ax.get_xticks())
    assert len(ax.patches) == 6 and np.allclose(ticks, centres)  # one tick on each bar
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{k}/5" for k in range(6)]

