"""Coverage of the Multi-Bootstrap with clusters as the resampling unit: the basis of
`FewClustersWarning` (docs/statistics.md).

A crossed model with examples nested in clusters (multiberts_stats/bootstrap/simulation.py,
`ClusterModel`; its parameters are printed), 25 seeds x 2 runs, 20 examples per cluster, paired
design, seeds and clusters resampled, every experiment through the real `multiboot`. For each
number of clusters: the share of experiments whose 95% percentile interval covers the truth
(procedure mean; paired difference), with a Clopper-Pearson 95% interval, and the share of
two-sided tests at 5% rejecting the true null.

Run: ``OMP_NUM_THREADS=1 python benchmarks/cluster_coverage.py [--experiments 500]
[--clusters 4 10 20 60]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy.stats import binomtest  # noqa: E402

from multiberts_stats.bootstrap.simulation import ClusterModel, cluster_coverage_study  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=500)
    ap.add_argument("--nboot", type=int, default=400)
    ap.add_argument("--clusters", type=int, nargs="+", default=[4, 10, 20, 60])
    args = ap.parse_args(argv)
    model = ClusterModel()
    print(f"{args.experiments} experiments per row, nboot {args.nboot}, 95% percentile intervals; "
          f"model {model}\n")
    head = (f"{'clusters':>8} | {'cover mean':>10} {'95% CI':>15} | {'cover delta':>11} "
            f"{'95% CI':>15} | {'reject H0':>9} | {'s':>4}")
    print(head)
    print("-" * len(head))
    for k in args.clusters:
        t = time.perf_counter()
        r = cluster_coverage_study(model, n_clusters=k, n_experiments=args.experiments,
                                   nboot=args.nboot, rng=2000 + k)
        n = r["n_experiments"]
        cis = {q: binomtest(r["hits"][q], n).proportion_ci() for q in ("base", "delta")}
        c = r["coverage"]
        print(f"{k:>8} | {c['base']:>10.3f} [{cis['base'].low:.3f}, {cis['base'].high:.3f}] | "
              f"{c['delta']:>11.3f} [{cis['delta'].low:.3f}, {cis['delta'].high:.3f}] | "
              f"{r['reject']:>9.3f} | {time.perf_counter() - t:>4.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
