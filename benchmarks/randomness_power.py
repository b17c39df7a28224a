"""False-positive rate and power of compare_randomness's verdict, in simulation.

Two families of ``--seeds`` pretraining seeds each are scored on the same ``--examples`` binary
examples: example j of seed s is correct with probability sigmoid(b_j + u_s), b_j ~ N(1, 1.5)
shared by every model, u_s ~ N(0, sd_f) with sd_b = 0.1 (in logits) and sd_a = sd_b * sqrt(ratio).
For each planted ratio of seed-effect variances, the share of experiments whose verdict is
"<family a> contributes more" (ratio > 1) or, under ratio = 1, any verdict but "undetermined"
(the false-positive rate), for the F rule (default) and the bootstrap rule, with a binomial test
of the false-positive rate against the nominal 5%.

The observed between-seed variance of accuracy also holds the example-by-seed noise, common to
both families, so the ratio of observed variances is smaller than the planted one.

Run: ``python benchmarks/randomness_power.py [--experiments 300] [--seeds 4 10]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from multiberts_stats.analysis.randomness import compare_randomness


def simulate_family(rng, n_seeds, sd, difficulty):
    u = rng.normal(0.0, sd, n_seeds)
    p = 1.0 / (1.0 + np.exp(-(difficulty[None, :] + u[:, None])))
    correct = (rng.random(p.shape) < p).astype(int)
    n = len(difficulty)
    return pd.DataFrame({"pretrain_seed": np.repeat(np.arange(n_seeds), n),
                         "example_id": np.tile(np.arange(n).astype(str), n_seeds),
                         "label": 1, "prediction": correct.ravel()})


def run(n_seeds, ratio, experiments, examples, nboot, rng):
    hits = {"f": 0, "bootstrap": 0}
    for k in range(experiments):
        b = rng.normal(1.0, 1.5, examples)
        ta = simulate_family(rng, n_seeds, 0.1 * np.sqrt(ratio), b)
        tb = simulate_family(rng, n_seeds, 0.1, b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = compare_randomness(ta, tb, nboot=nboot, seed=k)
        for method, (lo, hi) in (("f", rep.f_ci), ("bootstrap", rep.ci)):
            hits[method] += (lo > 1 or hi < 1) if ratio == 1 else lo > 1
    return {m: h / experiments for m, h in hits.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=300)
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--nboot", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[4, 10])
    ap.add_argument("--ratios", type=float, nargs="+", default=[1, 4, 16, 64])
    args = ap.parse_args(argv)
    rng = np.random.default_rng(2026)
    print(f"{args.experiments} experiments per row, {args.examples} examples, nboot "
          f"{args.nboot}, 95% intervals\n")
    print(f"{'seeds':>5} {'ratio':>6} | {'F rule':>7} {'bootstrap':>9} | binomial p (F, vs 5%)")
    t0 = time.perf_counter()
    for n_seeds in args.seeds:
        for ratio in args.ratios:
            r = run(n_seeds, ratio, args.experiments, args.examples, args.nboot, rng)
            extra = ""
            if ratio == 1:
                k = round(r["f"] * args.experiments)
                extra = f"{binomtest(k, args.experiments, 0.05).pvalue:.3f}"
            print(f"{n_seeds:>5} {ratio:>6g} | {r['f']:>7.3f} {r['bootstrap']:>9.3f} | {extra}")
    print(f"\n({time.perf_counter() - t0:.1f} s; ratio 1 rows are false-positive rates, the "
          "others power)")


if __name__ == "__main__":
    main()
