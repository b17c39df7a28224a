"""The experiment planner (multiberts_stats.planning): fits, kernels against multiboot, plans,
bad input, CLI, figure; and (slow) validation in simulation."""

from __future__ import annotations

import doctest
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from multiberts_stats import planning
from multiberts_stats.planning import check as planning_check, models as planning_models, sim as planning_sim
from multiberts_stats.bootstrap import MatrixRuns, multiboot
from multiberts_stats.errors import InputError
from multiberts_stats.planning import (
    Components,
    ProbitModel,
    fit_components,
    measure_power,
    plan_experiment,
    plan_width,
)
from multiberts_stats.planning.sim import analyse

PAIRED = Components(seed=1e-4, example=2e-3, seed_example=1e-3, run=2e-4, residual=0.25,
                    design="paired", base_mean=0.8)


@pytest.mark.parametrize("module", [planning, planning_check, planning_models, planning_sim])
def test_docstring_examples(module):
    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert r.failed == 0 and (module is planning_sim or r.attempted > 0)


# ----------------------------------------------------------------------------------------------
# fitting


def _plain_components(Y):
    """Seed / run / example / seed x example / residual by explicit loops (textbook ANOVA)."""
    S, R, J = Y.shape
    m = sum(Y[s, r, j] for s in range(S) for r in range(R) for j in range(J)) / (S * R * J)
    ys = [sum(Y[s, r, j] for r in range(R) for j in range(J)) / (R * J) for s in range(S)]
    yj = [sum(Y[s, r, j] for s in range(S) for r in range(R)) / (S * R) for j in range(J)]
    ysr = [[sum(Y[s, r, :]) / J for r in range(R)] for s in range(S)]
    ysj = [[sum(Y[s, r, j] for r in range(R)) / R for j in range(J)] for s in range(S)]
    ms_s = R * J * sum((ys[s] - m) ** 2 for s in range(S)) / (S - 1)
    ms_r = J * sum((ysr[s][r] - ys[s]) ** 2 for s in range(S) for r in range(R)) / (S * (R - 1))
    ms_j = S * R * sum((yj[j] - m) ** 2 for j in range(J)) / (J - 1)
    ms_sj = R * sum((ysj[s][j] - ys[s] - yj[j] + m) ** 2 for s in range(S)
                    for j in range(J)) / ((S - 1) * (J - 1))
    ms_e = sum((Y[s, r, j] - ysr[s][r] - ysj[s][j] + ys[s]) ** 2 for s in range(S)
               for r in range(R) for j in range(J)) / (S * (R - 1) * (J - 1))
    return {"seed": max(0, (ms_s - ms_r - ms_sj + ms_e) / (R * J)),
            "run": max(0, (ms_r - ms_e) / J), "example": max(0, (ms_j - ms_sj) / (S * R)),
            "seed_example": max(0, (ms_sj - ms_e) / R), "residual": ms_e}


def _table(Y, seed_offset=0):
    S, R, J = Y.shape
    s, r, j = np.meshgrid(np.arange(S), np.arange(R), np.arange(J), indexing="ij")
    return pd.DataFrame({"pretrain_seed": s.ravel() + seed_offset, "finetune_seed": r.ravel(),
                         "example_id": [f"e{x:03d}" for x in j.ravel()], "score": Y.ravel(),
                         "label": 1.0, "prediction": (Y.ravel() > 0).astype(float)})


def test_fit_equals_plain_anova_loop():
    rng = np.random.default_rng(3)
    Y = (rng.normal(0, 0.3, (4, 1, 1)) + rng.normal(0, 1, (1, 1, 12))
         + rng.normal(0, 0.5, (4, 1, 12)) + rng.normal(0, 0.2, (4, 3, 1))
         + rng.normal(0, 0.7, (4, 3, 12)))
    c = fit_components(_table(Y), metric="mean")
    plain = _plain_components(Y)
    for k, v in plain.items():
        assert getattr(c, k) == pytest.approx(v, rel=1e-10, abs=1e-14)
    assert c.estimate == pytest.approx(Y.mean())
    # paired: the components of the difference are those of expt - base
    Y2 = Y + rng.normal(0, 0.4, Y.shape)
    cp = fit_components(_table(Y), _table(Y2), metric="mean")
    for k, v in _plain_components(Y2 - Y).items():
        assert getattr(cp, k) == pytest.approx(v, rel=1e-10, abs=1e-14)


def test_fit_hand_checked_seed_component():
    # 2 seeds x 1 run x 2 examples: Y = [[1, 3], [3, 5]] -> seed means 2, 4; example means 2, 4;
    # MS_seed = 2 * ((2-3)^2 + (4-3)^2) / 1 = 4, MS_sxe = 0: seed = (4 - 0) / 2 = 2
    Y = np.array([[[1.0, 3.0]], [[3.0, 5.0]]])
    c = fit_components(_table(Y), metric="mean")
    assert c.seed == pytest.approx(2.0) and c.example == pytest.approx(2.0)
    assert c.seed_example == 0 and c.run == 0 and c.residual == 0
    assert any("one run per seed" in n for n in c.notes)


def test_fit_recovers_probit_truth_on_a_large_pilot():
    m = ProbitModel(mu=1.0, sd_seed=0.15, sd_example=1.0, sd_seed_example=0.3, sd_run=0.1,
                    effect=0.1, sd_effect_seed=0.05, sd_effect_example=0.2)
    rng = np.random.default_rng(1)
    for design in ("single", "paired", "unpaired"):
        truth = m.components(design)
        base, expt = m.simulate_tables(rng, 40, 3, 1500, design)
        c = fit_components(base, expt, design=design, n_draws=2000)
        for k in ("example", "seed_example", "residual", "run", "seed"):
            lo, hi = c.intervals[k]
            # wide margins: one pilot, each component's interval at 95%
            assert lo * 0.7 - 1e-5 <= getattr(truth, k) <= hi * 1.3 + 1e-5, (design, k)
        assert c.outcome == "binary"


def test_probit_components_match_simulation_moments():
    # the observed covariance of two runs of one seed on one example, by brute force
    m = ProbitModel(mu=0.5, sd_seed=0.4, sd_example=0.8, sd_seed_example=0.5, sd_run=0.3)
    c = m.components("single")
    rng = np.random.default_rng(0)
    n = 400_000
    from scipy.special import ndtr

    a, b, cc = (rng.normal(0, s, n) for s in (0.4, 0.8, 0.5))
    z = 0.5 + a + b + cc
    p1 = ndtr(z + rng.normal(0, 0.3, n))
    p2 = ndtr(z + rng.normal(0, 0.3, n))
    y1, y2 = rng.random(n) < p1, rng.random(n) < p2
    cov = np.cov(y1, y2)[0, 1]
    assert cov == pytest.approx(c.seed + c.example + c.seed_example, abs=4e-3)
    assert c.base_mean == pytest.approx(y1.mean(), abs=4e-3)


# ----------------------------------------------------------------------------------------------
# the simulation kernel is the Multi-Bootstrap test


def _matrix(Y):
    S, R, J = Y.shape
    ri = pd.DataFrame({"pretrain_seed": np.repeat(np.arange(S), R),
                       "finetune_seed": np.tile(np.arange(R), S)})
    m = Y.reshape(S * R, J)
    return MatrixRuns(ri, preds=m, run_columns={"score": m})


def _draws_in_engine_order(seed, nboot, design, S_b, S_e, J):
    """Replay the draws multiboot makes with a Generator: per replicate, the seed draw(s) in
    side order, then one example draw."""
    rng = np.random.default_rng(seed)
    plan = {"paired": ["shared"], "unpaired": ["base", "expt"], "fixed_baseline": ["expt"]}[design]
    n = {"shared": S_e, "base": S_b, "expt": S_e}
    sd = {k: np.empty((nboot, n[k]), np.int64) for k in plan}
    ud = np.empty((nboot, J), np.int64)
    for r in range(nboot):
        for k in plan:
            sd[k][r] = rng.integers(0, n[k], size=n[k])
        ud[r] = rng.integers(0, J, size=J)
    V = np.stack([np.bincount(u, minlength=J) for u in ud]).astype(np.float32)

    def w(k):
        return (np.stack([np.bincount(d, minlength=n[k]) for d in sd[k]]) / n[k])[None]

    if design == "paired":
        return V, [w("shared")]
    if design == "unpaired":
        return V, [w("base"), w("expt")]
    return V, [None, w("expt")]


@pytest.mark.parametrize("design", ["paired", "unpaired", "fixed_baseline"])
def test_percentile_kernel_equals_multiboot_on_the_same_draws(design):
    rng = np.random.default_rng(7)
    S, R, J, B = 6, 2, 40, 300
    Sb = 1 if design == "fixed_baseline" else S
    Yb = rng.normal(0, 1, (Sb, R, J)) + rng.normal(0, 0.3, (Sb, 1, 1))
    Ye = rng.normal(0.1, 1, (S, R, J)) + rng.normal(0, 0.3, (S, 1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multiboot(_matrix(Yb), _matrix(Ye), design=design, metric="mean", nboot=B, rng=11,
                        quiet=True)
    V, Ws = _draws_in_engine_order(11, B, design, Sb, S, J)
    sides = [Yb.mean(axis=1)[None], Ye.mean(axis=1)[None]]
    if design == "paired":
        sides, Ws = [sides[1] - sides[0]], Ws
    draws = [V, Ws]
    one, two, width = analyse(sides, design, "percentile", B, 0.95, 1.0, None, draws)
    np.testing.assert_allclose(draws[2][0], res.delta_distribution, rtol=0, atol=1e-9)
    assert one[0] == res.pvalue
    assert two[0] == pytest.approx(res.pvalue_two_sided)
    assert width[0] == pytest.approx(res.ci["delta"][1] - res.ci["delta"][0], abs=1e-9)


@pytest.mark.parametrize("design", ["paired", "unpaired", "fixed_baseline"])
def test_corrected_kernel_equals_multiboot(design):
    rng = np.random.default_rng(8)
    S, R, J = 5, 3, 50
    Sb = 1 if design == "fixed_baseline" else S
    for trial in range(3):
        Yb = rng.normal(0, 1, (Sb, R, J)) + rng.normal(0, 0.5, (Sb, 1, 1))
        Ye = rng.normal(0.2, 1, (S, R, J)) + rng.normal(0, 0.5, (S, 1, 1)) \
            + (0.8 * Yb.mean(axis=(0, 1), keepdims=True) if trial else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = multiboot(_matrix(Yb), _matrix(Ye), design=design, metric="mean", nboot=50,
                            rng=0, method="corrected", quiet=True)
        sides = [Yb.mean(axis=1)[None], Ye.mean(axis=1)[None]]
        if design == "paired":
            sides = [sides[1] - sides[0]]
        one, two, width = analyse(sides, design, "corrected", 50, 0.95, 1.0, None)
        assert one[0] == pytest.approx(res.pvalue, rel=1e-9, abs=1e-12)
        assert two[0] == pytest.approx(res.pvalue_two_sided, rel=1e-9, abs=1e-12)
        assert width[0] == pytest.approx(res.ci["delta"][1] - res.ci["delta"][0], rel=1e-9)


def test_gaussian_simulation_has_the_stated_variance():
    rng = np.random.default_rng(2)
    for comp in (PAIRED, Components(seed=1e-3, example=1e-3, seed_example=2e-3, run=1e-3,
                                    residual=0.2, design="unpaired"),
                 Components(seed=1e-3, example=1e-3, seed_example=2e-3, run=1e-3, residual=0.2,
                            baseline_run=1e-3, baseline_residual=0.2, design="fixed_baseline")):
        sides = planning_sim.simulate_means(comp, rng, 4000, 6, 2, 50, 0.0)
        est = sides[-1].mean(axis=(1, 2)) - (sides[0].mean(axis=(1, 2)) if len(sides) > 1 else 0)
        v = float(comp.variance(6, 2, 50))
        assert np.var(est) == pytest.approx(v, rel=0.08)


# ----------------------------------------------------------------------------------------------
# plans


def test_plan_table_and_cheapest_design():
    p = plan_experiment(PAIRED, 0.02, seeds=[5, 10, 20], runs=[1, 3], examples=[1000],
                        n_sim=120, cost_seed=100, cost_run=1, cost_examples=0)
    t = p.table
    assert len(t) == 6 and set(t.columns) >= {"power_analytic", "power_sim", "width_sim",
                                              "power_sim_low", "cost", "reaches_target"}
    ok = t[t.power_sim >= 0.8]
    assert p.recommended is not None
    assert p.recommended["cost"] == ok.cost.min()
    # power rises with seeds at fixed runs; analytic and simulated agree roughly
    for r in (1, 3):
        s = t[t.runs == r].sort_values("seeds")
        assert s.power_analytic.is_monotonic_increasing
    assert np.all(np.abs(t.power_sim - t.power_analytic) < 0.15)
    d = json.loads(json.dumps(p.to_dict()))
    assert d["recommended"]["seeds"] == p.recommended["seeds"]


def test_relative_effect_and_objective_size():
    a = plan_experiment(PAIRED, 0.025, relative=True, seeds=[5, 10], runs=[1], simulate=False)
    b = plan_experiment(PAIRED, 0.02, seeds=[5, 10], runs=[1], simulate=False)
    np.testing.assert_allclose(a.table.power_analytic, b.table.power_analytic)
    assert a.target["objective"] == "size"


def test_plan_width_single_procedure():
    c = Components(seed=4e-4, example=0.05, seed_example=5e-3, run=4e-4, residual=0.12,
                   base_mean=0.75, pilot={"n_seeds": 5, "n_runs": 2, "n_examples": 872})
    p = plan_width(c, 0.05, seeds=[3, 5, 10, 25], runs=[1, 2], n_sim=100)
    assert p.recommended is not None and p.recommended["width"] <= 0.05
    assert (p.table.width_sim - p.table.width_analytic).abs().max() < 0.01
    assert p.table.examples.unique().tolist() == [872]


def test_one_seed_pilot_refused_and_too_small_pilot_flagged():
    m = ProbitModel(mu=1.0, sd_seed=0.05, sd_example=1.0, effect=0.05)
    rng = np.random.default_rng(0)
    base, expt = m.simulate_tables(rng, 1, 3, 200, "paired")
    with pytest.raises(InputError, match=r"`base` pilot .* at least 2 pretraining seeds.*Got 1"):
        fit_components(base, expt)
    # a 2-seed pilot of a seed-heavy model: the seed component is all over the place
    Y = rng.normal(0, 0.1, (2, 2, 300)) + rng.normal(0, 0.05, (2, 1, 1))
    Y2 = Y + rng.normal(0.01, 0.05, (2, 1, 1)) + rng.normal(0, 0.1, Y.shape)
    c = fit_components(_table(Y), _table(Y2), metric="mean")
    p = plan_experiment(c, 0.02, seeds=[5, 10], runs=[1], simulate=False)
    assert p.pilot_too_small and "too small to plan from" in p.summary()


@pytest.mark.parametrize("kwargs, match", [
    (dict(effect=0), r"`effect` parameter of plan_experiment must be nonzero.*Got 0"),
    (dict(effect=0.01, power=1.0), r"`power` parameter .* in \(0, 1\). Got 1.0"),
    (dict(effect=0.01, power=0), r"`power` parameter .* in \(0, 1\). Got 0"),
    (dict(effect=0.01, alpha=1.5), r"`alpha` parameter .* in \(0, 1\). Got 1.5"),
    (dict(effect=0.01, cost_seed=-1), r"`cost_seed` parameter .* >= 0. Got -1"),
    (dict(effect=0.01, objective="cost"), r"objective='cost'.*needs at least one of `cost_seed`"),
    (dict(effect=0.01, seeds=[1, 5]), r"`seeds` parameter .* integers >= 2"),
    (dict(effect=0.01, method="bca"), r"`method` parameter .* Got 'bca'"),
    (dict(effect=float("nan")), r"`effect` parameter .* Got nan"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        plan_experiment(PAIRED, simulate=False, **kwargs)


def test_pilot_must_be_one_balanced_condition():
    rng = np.random.default_rng(0)
    t = _table(rng.normal(size=(3, 2, 20)))
    mixed = pd.concat([t.assign(layer=3), t.assign(layer=4)])
    with pytest.raises(InputError, match=r"one condition.*'layer'.*\['3', '4'\]"):
        fit_components(mixed, metric="mean")
    unbalanced = t[~((t.pretrain_seed == 0) & (t.finetune_seed == 1))]
    with pytest.raises(InputError, match=r"same number of runs in every seed.*\{0: 1, 1: 2, 2: 2\}"):
        fit_components(unbalanced, metric="mean")
    with pytest.raises(InputError, match=r"`metric` parameter of fit_components .* Got 'f1'"):
        fit_components(t, metric="f1")


def test_bad_components_and_models():
    with pytest.raises(InputError, match=r"`seed` parameter of Components .* >= 0. Got -0.1"):
        Components(seed=-0.1)
    with pytest.raises(InputError, match="design"):
        plan_experiment(PAIRED, 0.01, design="unpaired")
    with pytest.raises(InputError, match="single"):
        plan_experiment(Components(residual=0.1), 0.01)
    with pytest.raises(InputError, match="effect"):
        plan_experiment(ProbitModel(effect=0.1), 0.01, design="paired")
    with pytest.raises(InputError, match="`width` parameter of plan_width"):
        plan_width(Components(residual=0.1), -1)


def test_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    p = plan_experiment(PAIRED, 0.015, seeds=[5, 10, 20, 30], runs=[3], examples=[500, 1000, 2000],
                        n_sim=100)
    ax = p.plot()
    assert ax.get_title().startswith("Power to detect 0.015")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("target power" in x for x in labels) and any("2,000 examples" in x for x in labels)
    ax.figure.savefig(tmp_path / "plan.png")
    assert (tmp_path / "plan.png").stat().st_size > 1000


# ----------------------------------------------------------------------------------------------
# CLI


@pytest.fixture
def pilot_store(tmp_path):
    from multiberts_stats.store import Store

    m = ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2, sd_run=0.05,
                    effect=0.15)
    base, expt = m.simulate_tables(np.random.default_rng(4), 5, 2, 300, "paired")
    st = Store(tmp_path / "store")
    for step, t in ((0, base), (2000, expt)):
        for s in range(5):
            rows = t[t.pretrain_seed == s].assign(
                family="tiny", checkpoint=f"seed_{s}-step_{step}", step=step, task="sst2",
                split="validation", method="finetune", layer=pd.NA, hparams="{}",
                example_id=lambda d: d.example_id.astype(str), label=1.0,
                prediction=lambda d: d.prediction.astype(float), score=np.nan,
                cluster="").astype({"layer": "Int64"})
            st.write(f"s{s}-k{step}", rows)
    return st.path


def test_cli_json(pilot_store, capsys):
    from multiberts_stats.cli import main

    rc = main(["plan", str(pilot_store), "--base", "step=0", "--expt", "step=2000", "--effect",
               "0.03", "--seeds", "5,10", "--runs", "1,2", "--n-sim", "60", "--cost-seed", "10",
               "--cost-run", "1", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"]["effect_abs"] == 0.03 and len(out["designs"]) == 4
    assert {r["component"] for r in out["components"]} >= {"seed", "example", "run"}


def test_cli_text_width_and_errors(pilot_store, capsys, tmp_path):
    from multiberts_stats.cli import main

    png = tmp_path / "w.png"
    rc = main(["plan", str(pilot_store), "--base", "step=0", "--width", "0.05", "--seeds", "5,10",
               "--n-sim", "30", "--plot", str(png)])
    assert rc == 0 and "target width" in capsys.readouterr().out and png.exists()
    assert main(["plan", str(pilot_store), "--base", "step=7", "--width", "0.05"]) == 2
    assert "selects no rows" in capsys.readouterr().err
    assert main(["plan", str(pilot_store), "--base", "step=0", "--expt", "step=2000"]) == 2
    assert "`--effect` option is required" in capsys.readouterr().err
    assert main(["plan", str(pilot_store), "--base", "step=0", "--expt", "step=2000",
                 "--effect", "0.01", "--power", "1.2"]) == 2
    assert "`power` parameter" in capsys.readouterr().err


def test_cli_help_states_defaults(capsys):
    from multiberts_stats.cli.plan import build_parser

    for action in build_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert "default" in (action.help or "") or action.required, action.option_strings


# ----------------------------------------------------------------------------------------------
# validation in simulation (docs/statistics.md, "Planning an experiment")


VALIDATION_CASES = [
    (Components(seed=2e-4, example=3e-3, seed_example=1e-3, run=3e-4, residual=0.2,
                design="paired"), dict(effect=0.022), dict(seeds=[5, 10, 15, 20, 25], runs=[1, 2])),
    (ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2, sd_run=0.1,
                 effect=0.12), dict(design="paired"), dict(seeds=[5, 10, 15, 20], runs=[1, 2])),
    (Components(seed=3e-4, example=2e-3, seed_example=1e-3, run=2e-4, residual=0.2,
                design="unpaired"), dict(effect=0.025, method="corrected"),
     dict(seeds=[5, 10, 15, 20], runs=[1, 2])),
    (Components(seed=3e-4, example=2e-3, seed_example=1e-3, run=2e-4, residual=0.2,
                baseline_run=2e-4, baseline_residual=0.2, design="fixed_baseline"),
     dict(effect=0.04), dict(seeds=[5, 10, 20], runs=[2, 4, 8])),
]


@pytest.mark.slow
@pytest.mark.parametrize("truth, kw, grid", VALIDATION_CASES)
def test_predicted_power_matches_the_real_test(truth, kw, grid):
    p = plan_experiment(truth, examples=[500], n_sim=400, nboot=199, cost_seed=10, cost_run=1,
                        rng=1, **grid, **kw)
    r = p.recommended
    assert r is not None
    m = measure_power(truth, r["seeds"], r["runs"], r["examples"], n_experiments=300,
                      nboot=199, rng=2, effect=kw.get("effect"), design=kw.get("design"),
                      method=kw.get("method", "percentile"))
    assert abs(r["power_sim"] - m["power"]) <= 0.05 + 1e-9, (r, m)


@pytest.mark.slow
def test_pilot_of_5_seeds_recovers_components_within_intervals():
    truth = Components(seed=2e-3, example=0.03, seed_example=4e-3, run=1e-3, residual=0.1,
                       design="single")
    rng = np.random.default_rng(5)
    n = 200
    hits = dict.fromkeys(("seed", "example", "seed_example", "run", "residual"), 0)
    for _ in range(n):
        Y = planning_check._gaussian_runs(truth, rng, 5, 2, 200, 0.0)[0]
        c = fit_components(_table(Y), metric="mean", n_draws=1000, rng=rng)
        for k in hits:
            lo, hi = c.intervals[k]
            hits[k] += lo <= getattr(truth, k) <= hi
    for k, h in hits.items():
        assert h / n >= 0.90 or binomtest(h, n, 0.95).pvalue > 0.01, (k, h)


def test_fit_from_matrix_runs_equals_tidy_and_fixed_baseline_recovers_truth():
    from multiberts_stats.table import to_matrix_runs

    rng = np.random.default_rng(9)
    Y = rng.normal(0, 1, (4, 2, 30)) + rng.normal(0, 0.3, (4, 1, 1))
    t = _table(Y)
    a = fit_components(t, metric="mean", rng=1)
    b = fit_components(to_matrix_runs(t, value=None, label=None, run_values=["score"],
                                      run_cols=["finetune_seed"]), metric="mean", rng=1)
    np.testing.assert_allclose(a.values(), b.values())
    truth = Components(seed=2e-3, example=0.02, seed_example=4e-3, run=1e-3, residual=0.1,
                       baseline_run=2e-3, baseline_residual=0.15, design="fixed_baseline")
    base, expt = planning.simulate_pilot(truth, 60, 4, 800, effect=0.05, rng=3)
    c = fit_components(base, expt, design="fixed_baseline", metric="mean")
    assert c.estimate == pytest.approx(0.05, abs=0.03)
    for k in ("seed", "example", "seed_example", "run", "residual", "baseline_run",
              "baseline_residual"):
        lo, hi = c.intervals[k]
        assert lo * 0.8 <= getattr(truth, k) <= hi * 1.25, k


def test_percentile_kernel_single_side_width_equals_multiboot():
    rng = np.random.default_rng(12)
    S, R, J, B = 5, 2, 30, 250
    Y = rng.normal(0, 1, (S, R, J)) + rng.normal(0, 0.4, (S, 1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = multiboot(_matrix(Y), metric="mean", nboot=B, rng=5, quiet=True)
    V, Ws = _draws_in_engine_order(5, B, "paired", S, S, J)  # one seed draw, then examples
    draws = [V, Ws]
    _, _, width = analyse([Y.mean(axis=1)[None]], "single", "percentile", B, 0.95, 1.0, None,
                          draws)
    np.testing.assert_allclose(draws[2][0], res.distribution[:, 0], rtol=0, atol=1e-9)
    assert width[0] == pytest.approx(res.ci["base"][1] - res.ci["base"][0], abs=1e-9)
