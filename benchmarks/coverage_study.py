"""Coverage of Multi-Bootstrap intervals in simulation: the figures of docs/statistics.md.

Crossed two-level models (seed effect + example effect + per-run noise; see
multiberts_stats/bootstrap/simulation.py), paired design, both axes resampled, 2,000 examples,
5 runs per seed. For each number of seeds, each model: the share of simulated experiments whose
95% interval covers the truth (percentile, as in the published Multi-Bootstrap, and
method="corrected"), and the share of one-sided tests at 5% that reject a true null, with a
binomial test against the nominal rate.

Run: ``python benchmarks/coverage_study.py [--experiments 500] [--seeds 3 5 10 25]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy.stats import binomtest  # noqa: E402

from multiberts_stats.bootstrap.simulation import (  # noqa: E402
    BINARY, BINARY_INDEP, CONTINUOUS, coverage_study, fixed_baseline_study)


def fixed_baseline_table(args):
    print(f"{args.experiments} experiments per row; two procedures with equal means, the "
          "baseline with the given seeds, the experiment 25 seeds; 95% intervals of the "
          "difference\n")
    print(f"{'base seeds':>10} | {'fixed_baseline covers 0':>24} | {'unpaired covers 0':>18}")
    for k in args.fixed_baseline:
        r = fixed_baseline_study(n_base_seeds=k, n_experiments=args.experiments,
                                 nboot=args.nboot, rng=3000 + k)
        n = r["n_experiments"]
        cells = []
        for d in ("fixed_baseline", "unpaired"):
            ci = binomtest(r["hits"][d], n).proportion_ci()
            cells.append(f"{r['coverage'][d]:.3f} [{ci.low:.3f}, {ci.high:.3f}]")
        print(f"{k:>10} | {cells[0]:>24} | {cells[1]:>18}", flush=True)
    print(f"\nmodel: sd_seed {r['sd_seed']}, sd_example {r['sd_example']}, sd_noise "
          f"{r['sd_noise']}, {r['n_examples']} examples, {r['n_runs']} runs per seed")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=500)
    ap.add_argument("--nboot", type=int, default=400)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 10, 25])
    ap.add_argument("--models", nargs="*", default=["continuous", "binary", "binary_indep"])
    ap.add_argument("--design", choices=["paired", "unpaired"], default="paired")
    ap.add_argument("--indep-example-sd", type=float, nargs="*", default=[],
                    help="also run binary_indep with these side-specific example sds (probit)")
    ap.add_argument("--indep-seed-sd", type=float, default=BINARY_INDEP.sd_seed_effect)
    ap.add_argument("--fixed-baseline", type=int, nargs="*", default=[],
                    help="instead: coverage of a fixed baseline with these numbers of seeds "
                         "(against design='unpaired'), the basis of FixedBaselineWarning")
    args = ap.parse_args(argv)
    if args.fixed_baseline:
        return fixed_baseline_table(args)
    models = {"continuous": CONTINUOUS, "binary": BINARY, "binary_indep": BINARY_INDEP}
    for sd in args.indep_example_sd:
        name = f"indep(ex={sd:g})"
        models[name] = replace(BINARY_INDEP, sd_example_effect=sd,
                               sd_seed_effect=args.indep_seed_sd)
        args.models = list(args.models) + [name]
    print(f"{args.experiments} experiments per row, {args.examples} examples, 5 runs per seed, "
          f"nboot {args.nboot}, {args.design} design, 95% intervals, one-sided tests at 5%")
    for name in args.models:
        print(f"  {name}: {models[name]}")
    print()
    head = (f"{'model':<14} {'seeds':>5} | {'cover mean':>10} {'cover delta':>11} {'reject H0':>9} | "
            f"{'corr. mean':>10} {'corr. delta':>11} {'corr. rej.':>10} | {'width c/p':>9} "
            f"{'mean 95% CI':>13} {'delta 95% CI':>13} {'s':>4}")
    print(head)
    print("-" * len(head))
    for name in args.models:
        for s in args.seeds:
            t = time.perf_counter()
            r = coverage_study(models[name], n_seeds=s, n_examples=args.examples,
                               n_experiments=args.experiments, nboot=args.nboot, rng=1000 + s,
                               design=args.design)
            n = r["n_experiments"]
            ci_m = binomtest(int(r["hits"]["base"]), n).proportion_ci()
            ci_d = binomtest(int(r["hits"]["delta"]), n).proportion_ci()
            c, cc = r["coverage"], r["coverage_corrected"]
            print(f"{name:<14} {s:>5} | {c['base']:>10.3f} {c['delta']:>11.3f} {r['reject']:>9.3f} | "
                  f"{cc['base']:>10.3f} {cc['delta']:>11.3f} {r['reject_corrected']:>10.3f} | "
                  f"{r['width_ratio']:>9.2f} {ci_m.low:.3f}-{ci_m.high:.3f} "
                  f"{ci_d.low:.3f}-{ci_d.high:.3f} {time.perf_counter() - t:>4.0f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
