"""The experiment planner in simulation: the figures of docs/statistics.md ("Planning an experiment").

Three parts (``--part``):

* ``validation``: on crossed models of known components (Gaussian paired / unpaired / fixed
  baseline, and a crossed probit model of binary outcomes), for several target powers, the
  planner's predicted power at its recommended design (500 simulated experiments, nboot 199)
  beside the power measured by running independent full experiments at that design through
  ``multiboot`` itself (``measure_power``; 300 experiments, nboot 199 and 1,000).
* ``coverage``: pilots of 5 seeds x 2 runs drawn from known models; the share of pilots whose
  reported 95% interval of each component covers the true component (Clopper-Pearson
  interval), and the share covering all components at once.
* ``flag``: the "too small to plan from" rule on pilots of several sizes: how often it fires,
  and how often the plan is off (the true power of the recommended design outside 0.8 +- 0.1)
  with and without it.
* ``speed``: a plan over 50 designs at 500 simulated experiments each (Gaussian paired model,
  percentile test, nboot 199; and the corrected test), timed; the baseline, one ``multiboot``
  call per experiment (``measure_power``), timed on a subset in the same process and
  extrapolated; the ratio is printed.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_planning.py [--part all] [--png plan.png]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy.stats import binomtest

from multiberts_stats.planning import (
    Components,
    ProbitModel,
    fit_components,
    measure_power,
    plan_experiment,
    simulate_pilot,
)

CASES = [
    ("Gaussian paired, percentile",
     Components(seed=2e-4, example=3e-3, seed_example=1e-3, run=3e-4, residual=0.2,
                design="paired"), dict(effect=0.022), dict(seeds=[5, 10, 15, 20, 25, 30],
                                                           runs=[1, 2, 3])),
    ("probit paired (accuracy), percentile",
     ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2, sd_run=0.1,
                 effect=0.12), dict(design="paired"), dict(seeds=[4, 6, 8, 10, 12, 15, 20],
                                                           runs=[1, 2, 3])),
    ("probit paired (accuracy), corrected",
     ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2, sd_run=0.1,
                 effect=0.12), dict(design="paired", method="corrected"),
     dict(seeds=[4, 6, 8, 10, 12, 15, 20], runs=[1, 2, 3])),
    ("probit paired, Gaussian plan, percentile",  # planned from its components, as a pilot fit
     ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2, sd_run=0.1,
                 effect=0.12), dict(design="paired", via_components=True),
     dict(seeds=[4, 6, 8, 10, 12, 15, 20], runs=[1, 2, 3])),
    ("Gaussian unpaired, corrected",
     Components(seed=3e-4, example=2e-3, seed_example=1e-3, run=2e-4, residual=0.2,
                design="unpaired"), dict(effect=0.025, method="corrected"),
     dict(seeds=[5, 8, 10, 12, 15, 20, 30], runs=[1, 2])),
    ("Gaussian fixed baseline, percentile",
     Components(seed=3e-4, example=2e-3, seed_example=1e-3, run=2e-4, residual=0.2,
                baseline_run=2e-4, baseline_residual=0.2, design="fixed_baseline"),
     dict(effect=0.04), dict(seeds=[5, 10, 20], runs=[2, 4, 8])),
]


def validation(args):
    print(f"Predicted power at the recommended design (planner: {args.sim} simulated experiments"
          " per design, the recommended one re-estimated on 2,000 fresh ones, nboot 199, costs: "
          f"seed 10, run 1) vs measured through multiboot ({args.real} "
          "independent experiments per column), 500 examples, two-sided tests at 5%\n")
    head = (f"{'model, test':<38} {'target':>6} | {'design S x R x J':>16} | {'analytic':>8} "
            f"{'predicted':>9} | {'measured nb199 [95% CI]':>24} {'diff':>6} | "
            f"{'measured nb1000':>15} | {'s':>5}")
    print(head)
    print("-" * len(head))
    worst = 0.0
    for name, truth, kw, grid in CASES:
        if args.cases and not any(c in name for c in args.cases):
            continue
        kw = dict(kw)
        model = truth
        if kw.pop("via_components", False):
            model = truth.components(kw.pop("design"))
            kw["effect"] = truth.delta()
        for target in args.targets:
            t0 = time.perf_counter()
            p = plan_experiment(model, power=target, examples=[500], n_sim=args.sim, nboot=199,
                                cost_seed=10, cost_run=1, rng=1, **grid, **kw)
            r = p.recommended
            if r is None:
                print(f"{name:<38} {target:>6} | none reaches the target")
                continue
            common = dict(effect=None if isinstance(truth, ProbitModel) else kw.get("effect"),
                          design=kw.get("design", getattr(model, "design", None)),
                          method=kw.get("method", "percentile"))
            m = measure_power(truth, r["seeds"], r["runs"], r["examples"],
                              n_experiments=args.real, nboot=199, rng=2, **common)
            m2 = measure_power(truth, r["seeds"], r["runs"], r["examples"],
                               n_experiments=args.real, nboot=1000, rng=3, **common) \
                if args.nboot1000 else {"power": float("nan")}
            d = r["power_sim"] - m["power"]
            worst = max(worst, abs(d))
            des = f"{r['seeds']} x {r['runs']} x {r['examples']}"
            print(f"{name:<38} {target:>6} | {des:>16} | {r['power_analytic']:>8.3f} "
                  f"{r['power_sim']:>9.3f} | {m['power']:>7.3f} [{m['low']:.3f}, {m['high']:.3f}] "
                  f"{d:>+6.3f} | {m2['power']:>15.3f} | {time.perf_counter() - t0:>5.0f}",
                  flush=True)
    print(f"\nlargest |predicted - measured (nboot 199)|: {worst:.3f} (acceptance: <= 0.05)\n")


def coverage(args):
    print(f"Pilots of 5 seeds x 2 runs x {args.pilot_examples} examples, {args.pilots} per "
          "model: share whose 95% generalised interval covers the true component\n")
    models = [
        ("Gaussian single", Components(seed=2e-3, example=0.03, seed_example=4e-3, run=1e-3,
                                       residual=0.1), "single"),
        ("Gaussian paired", Components(seed=2e-4, example=3e-3, seed_example=1e-3, run=3e-4,
                                       residual=0.2, design="paired"), "paired"),
        ("probit paired", ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2,
                                      sd_run=0.1, effect=0.12), "paired"),
        ("probit single", ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2,
                                      sd_run=0.1), "single"),
    ]
    names = ("seed", "example", "seed_example", "run", "residual")
    print(f"{'model':<16} | " + " | ".join(f"{n:>20}" for n in names) + f" | {'all five':>20}")
    rng = np.random.default_rng(11)
    for label, truth, design in models:
        hits = dict.fromkeys(names, 0)
        joint = 0
        tc = truth.components(design) if isinstance(truth, ProbitModel) else truth
        for _ in range(args.pilots):
            b, e = simulate_pilot(truth, 5, 2, args.pilot_examples, design=design, rng=rng)
            c = fit_components(b, e, design=design, n_draws=2000, rng=rng,
                               metric="accuracy" if isinstance(truth, ProbitModel) else "mean")
            ok = {n: c.intervals[n][0] <= getattr(tc, n) <= c.intervals[n][1] for n in names}
            for n in names:
                hits[n] += ok[n]
            joint += all(ok.values())

        def cell(h):
            ci = binomtest(h, args.pilots).proportion_ci(0.95)
            return f"{h / args.pilots:.3f} [{ci.low:.3f}, {ci.high:.3f}]"

        print(f"{label:<16} | " + " | ".join(f"{cell(hits[n]):>20}" for n in names)
              + f" | {cell(joint):>20}", flush=True)
    print()


def flag(args):
    """The "too small to plan from" rule against what it protects from: a plan that is off."""
    truth = ProbitModel(mu=1.0, sd_seed=0.1, sd_example=1.0, sd_seed_example=0.2, sd_run=0.1,
                        effect=0.12)
    tc = truth.components("paired")
    grid = dict(seeds=[3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100], runs=[1, 2, 3, 4, 5],
                examples=[872], simulate=False, cost_seed=10, cost_run=1)
    eff = 0.02
    oracle = plan_experiment(tc, eff, **grid)
    true_tab = oracle.table.set_index(["seeds", "runs"])
    o = oracle.recommended
    print(f"The too-small rule: pilots of the probit paired model ({args.flag_pilots} per row, 872 "
          f"examples), a plan for effect {eff} at power 0.8 (analytic, costs seed 10, run 1). "
          f"With the true components the plan is {o['seeds']} seeds x {o['runs']} runs (cost "
          f"{o['cost']:.0f}). A plan is 'off' when its recommended design's true power is below "
          "0.7 (underpowered) or its cost over 1.5x that (overspent).\n")
    print(f"{'pilot S x R':>11} | {'flagged':>7} | {'off':>5} | {'under':>5} | {'over':>5} | "
          f"{'off | flagged':>13} | {'off | not flagged':>17} | {'median power range':>18}")
    rng = np.random.default_rng(21)
    for S, R in args.flag_sizes:
        n_flag = n_off = off_f = off_nf = n_under = n_over = 0
        ranges = []
        for _ in range(args.flag_pilots):
            b, e = simulate_pilot(truth, S, R, 872, design="paired", rng=rng)
            c = fit_components(b, e, design="paired", n_draws=1000, rng=rng)
            p = plan_experiment(c, eff, **grid)
            r = p.recommended
            if r is None:
                under, over = True, False
            else:
                under = true_tab.loc[(r["seeds"], r["runs"]), "power_analytic"] < 0.7
                over = r["cost"] > 1.5 * o["cost"]
            off = under or over
            n_under += under
            n_over += over
            n_flag += p.pilot_too_small
            n_off += off
            off_f += off and p.pilot_too_small
            off_nf += off and not p.pilot_too_small
            if p.power_range:
                ranges.append(p.power_range)
        n = args.flag_pilots
        nf, nn = max(n_flag, 1), max(n - n_flag, 1)
        med = np.median(np.array(ranges), axis=0) if ranges else (np.nan, np.nan)
        print(f"{f'{S} x {R}':>11} | {n_flag / n:>7.2f} | {n_off / n:>5.2f} | {n_under / n:>5.2f} | "
              f"{n_over / n:>5.2f} | {off_f / nf:>13.2f} | "
              f"{(off_nf / nn) if n > n_flag else float('nan'):>17.2f} | "
              f"{f'{med[0]:.2f}-{med[1]:.2f}':>18}", flush=True)
    print()


def speed(args):
    comp = Components(seed=2e-4, example=3e-3, seed_example=1e-3, run=3e-4, residual=0.2,
                      design="paired")
    seeds = [3, 5, 8, 10, 15, 20, 25, 30, 40, 50]
    runs = [1, 2, 3, 4, 5]
    print(f"Speed: 50 designs (seeds {seeds} x runs {runs} x 1,000 examples), 500 simulated "
          f"experiments each, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    plan_experiment(comp, 0.02, seeds=[5], runs=[1], n_sim=20)  # warm imports
    rows = []
    for method in ("percentile", "corrected"):
        t0, c0 = time.perf_counter(), time.process_time()
        p = plan_experiment(comp, 0.02, seeds=seeds, runs=runs, examples=[1000], n_sim=500,
                            nboot=199, method=method, rng=0)
        rows.append((f"planner, {method} (nboot 199)", time.perf_counter() - t0,
                     time.process_time() - c0, len(p.table) * 500))
    # baseline: one multiboot call per experiment, on a subset of designs, extrapolated
    sub = [(5, 1), (20, 3), (50, 5)]
    t0, c0 = time.perf_counter(), time.process_time()
    n_each = args.baseline_experiments
    for S, R in sub:
        measure_power(comp, S, R, 1000, effect=0.02, n_experiments=n_each, nboot=199, rng=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    per = wall / (len(sub) * n_each)
    base_total = per * 50 * 500
    print(f"{'case':<36} {'wall s':>8} {'CPU s':>8} {'experiments':>11} {'x baseline':>10}")
    for name, w, c, n in rows:
        print(f"{name:<36} {w:>8.2f} {c:>8.2f} {n:>11,} {base_total / w:>10.0f}")
    print(f"{'baseline: multiboot per experiment':<36} {base_total:>8.0f} "
          f"{cpu / (len(sub) * n_each) * 25_000:>8.0f} {50 * 500:>11,} "
          f"{1:>10}   (extrapolated from {len(sub) * n_each} calls: {per * 1000:.1f} ms each)")
    print("\ntarget: < 30 s for the percentile plan")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        p = plan_experiment(comp, 0.02, seeds=[3, 5, 10, 15, 20, 25, 30, 40], runs=[2],
                            examples=[500, 1000, 2000], n_sim=500, cost_seed=10, cost_run=1)
        ax = p.plot()
        ax.figure.tight_layout()
        ax.figure.savefig(args.png, dpi=120)
        print(f"figure: {args.png}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["validation", "coverage", "flag", "speed", "all"],
                    default="all")
    ap.add_argument("--flag-pilots", type=int, default=100)
    ap.add_argument("--flag-sizes", type=lambda t: tuple(map(int, t.split("x"))), nargs="+",
                    default=[(5, 2), (10, 2), (25, 2), (25, 5), (50, 5)])
    ap.add_argument("--targets", type=float, nargs="+", default=[0.8, 0.9])
    ap.add_argument("--cases", nargs="+", default=None, help="validation rows whose name holds one")
    ap.add_argument("--sim", type=int, default=500, help="planner experiments per design")
    ap.add_argument("--real", type=int, default=500, help="multiboot experiments per check")
    ap.add_argument("--no-nboot1000", dest="nboot1000", action="store_false")
    ap.add_argument("--pilots", type=int, default=300)
    ap.add_argument("--pilot-examples", type=int, default=400)
    ap.add_argument("--baseline-experiments", type=int, default=40)
    ap.add_argument("--png", default=None, help="write the power figure here")
    args = ap.parse_args(argv)
    if args.part in ("speed", "all"):
        speed(args)
    if args.part in ("validation", "all"):
        validation(args)
    if args.part in ("coverage", "all"):
        coverage(args)
    if args.part in ("flag", "all"):
        flag(args)


if __name__ == "__main__":
    main()
