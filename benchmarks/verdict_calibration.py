"""Calibration of the artifact-vs-procedure verdict: false-positive rates and power.

Simulated paired experiments (binary outcomes, crossed seed x example model, examples shared by
every seed, fine-tuning runs per seed; see ``multiberts_stats.analysis.calibration``), each
analysed with the rule of ``artifact_vs_procedure``. Prints a Markdown table: the share of
reports per outcome with its 95% Wilson interval, and for rows under a null the one-sided
binomial test of the share against 5%.

    python benchmarks/verdict_calibration.py                 # >= 500 experiments per row
    python benchmarks/verdict_calibration.py --experiments 100 --method corrected
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from multiberts_stats.analysis.calibration import calibration_study  # noqa: E402

#: (label, kind, seeds, planted size (logit), fine-tuning run sd, what the row measures)
ROWS = [
    ("global null", "null", 25, 0.0, 0.0, "fpr"),
    ("global null", "null", 5, 0.0, 0.0, "fpr"),
    ("global null, run offsets sd 0.3", "null", 25, 0.0, 0.3, "fpr"),
    ("global null, run offsets sd 0.3", "null", 5, 0.0, 0.3, "fpr"),
    ("artifact-only, sd 0.1", "artifact", 25, 0.1, 0.0, "power"),
    ("artifact-only, sd 0.15", "artifact", 25, 0.15, 0.0, "power"),
    ("artifact-only, sd 0.3", "artifact", 25, 0.3, 0.0, "power"),
    ("artifact-only, sd 0.6", "artifact", 25, 0.6, 0.0, "power"),
    ("artifact-only, sd 0.15", "artifact", 5, 0.15, 0.0, "power"),
    ("artifact-only, sd 0.3", "artifact", 5, 0.3, 0.0, "power"),
    ("artifact-only, sd 0.6", "artifact", 5, 0.6, 0.0, "power"),
    ("constant +0.12", "constant", 25, 0.12, 0.0, "procedure"),
    ("constant +0.12", "constant", 5, 0.12, 0.0, "procedure"),
    ("constant +0.25", "constant", 25, 0.25, 0.0, "procedure"),
    ("constant +0.25", "constant", 5, 0.25, 0.0, "procedure"),
]


def fmt(k: int, n: int, test: bool = False) -> str:
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    s = f"{k / n:.3f} [{ci.low:.3f}, {ci.high:.3f}]"
    if test:
        s += f" (p={binomtest(k, n, 0.05, alternative='greater').pvalue:.2f})"
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=500)
    ap.add_argument("--nboot", type=int, default=500)
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--method", default="percentile", choices=["percentile", "corrected"])
    ap.add_argument("--correction", default="holm", choices=["holm", "bh", "none"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    corr = None if a.correction == "none" else a.correction
    print(f"{a.experiments} experiments per row, {a.examples} examples, {a.runs} runs per seed "
          f"and side, nboot={a.nboot}, procedure interval {a.method}, correction {corr}, "
          "alpha 0.05; share [95% Wilson interval] (p: one-sided binomial test against 5%)\n")
    print("| planted | seeds | artifact-level only | heterogeneity rejects | procedure-level "
          "effect | procedure, consistent | procedure, heterogeneous | disagrees | some artifact "
          "significant (adjusted) | old rule (uncorrected) | mean tau |")
    print("|---|---:|---|---|---|---|---|---|---|---|---:|")
    for i, (label, kind, seeds, size, sd_run, what) in enumerate(ROWS):
        t = time.perf_counter()
        r = calibration_study(kind, n_seeds=seeds, n_examples=a.examples, n_runs=a.runs,
                              size=size, n_experiments=a.experiments, nboot=a.nboot,
                              method=a.method, correction=corr, sd_run=sd_run,
                              rng=a.seed + 1000 * i)
        c, n = r["counts"], r["n"]
        null = what == "fpr"
        cells = [fmt(c["artifact_only"], n, null or what == "procedure"),
                 fmt(c["het_reject"], n, null or what == "procedure"),
                 fmt(c["procedure_effect"], n), fmt(c["procedure_consistent"], n),
                 fmt(c["procedure_heterogeneous"], n), fmt(c["disagrees"], n, null),
                 fmt(c["any_adjusted"], n), fmt(c["old_rule"], n)]
        print(f"| {label} | {seeds} | " + " | ".join(cells)
              + f" | {np.mean(r['tau']):.4f} |", flush=True)
        elapsed = time.perf_counter() - t
        print(f"<!-- {label}, {seeds} seeds: {elapsed:.1f} s -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
