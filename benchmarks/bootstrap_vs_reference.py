"""Multi-Bootstrap speed and memory against a plain loop with the published semantics.

Same process, same data: 2 sides x 25 seeds x 5 runs, 10,000 examples, binary labels.

1. A plain loop written here from the published MultiBERTs semantics (seed draw(s), then one
   example draw, per replicate; `score_fn(labels[jj], preds[i, jj])` for every run of every drawn
   seed; mean within seed, then over drawn seeds), with sklearn's accuracy_score and a RandomState.
2. The reference-compatible `multibootstrap` with the same scorer and `rng=int`, at the same nboot:
   its samples must be identical (asserted) and it must be >= 300x faster.
3. The modern `multiboot`, built-in accuracy, Generator draws, nboot = 1,000: target < 0.5 s;
   the same from the tidy table (2.5 M rows, converted by `multiberts_stats.table`): target
   within 2x of the matrix input (the ratio is printed).
4. 25 seeds x 5 runs x 100,000 examples x nboot 10,000 in a fresh process: peak resident memory
   (target < 2 GB).

Run: ``python benchmarks/bootstrap_vs_reference.py [--nboot-loop 50] [--skip-memory]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multiberts_stats import multibootstrap  # noqa: E402
from multiberts_stats.bootstrap import MatrixRuns, multiboot  # noqa: E402


def plain_loop(run_info, preds, labels, score_fn, paired_seeds, nboot, seed):
    """The published procedure as a plain Python loop (common seeds sorted)."""
    rng = np.random.RandomState(seed)
    run_info = run_info.reset_index(drop=True)
    mask = run_info["intervention"].to_numpy()
    base = {s: list(g.index) for s, g in run_info[~mask].groupby("seed")}
    expt = {s: list(g.index) for s, g in run_info[mask].groupby("seed")}
    if paired_seeds:
        base_seeds = expt_seeds = sorted(set(base) & set(expt))
    else:
        base_seeds, expt_seeds = sorted(base), sorted(expt)
    n = len(labels)
    samples = []
    for _ in range(nboot):
        bs = rng.choice(base_seeds, size=len(base_seeds), replace=True)
        es = bs if paired_seeds else rng.choice(expt_seeds, size=len(expt_seeds), replace=True)
        jj = rng.choice(n, size=n, replace=True)
        y = labels[jj]

        def side(rows, seeds):
            return np.mean([np.mean([score_fn(y, preds[i, jj]) for i in rows[s]]) for s in seeds])

        samples.append((side(base, bs), side(expt, es)))
    return samples


def make_data(n_seeds=25, n_runs=5, n_examples=10_000, seed=0):
    rs = np.random.RandomState(seed)
    labels = rs.randint(0, 2, n_examples)
    rows = [(s, r, inter) for inter in (False, True) for s in range(n_seeds) for r in range(n_runs)]
    run_info = pd.DataFrame(rows, columns=["seed", "finetune_seed", "intervention"])
    skill = 0.8 + 0.02 * run_info["intervention"].to_numpy() + rs.normal(0, 0.01, len(run_info))
    preds = np.where(rs.rand(len(run_info), n_examples) < skill[:, None], labels, 1 - labels)
    return run_info, preds, labels


MEMORY_CODE = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
sys.path.insert(0, {root!r})
from multiberts_stats.bootstrap import MatrixRuns, multiboot
rs = np.random.default_rng(0)
S, R, J, NBOOT = 25, 5, 100_000, {nboot}
labels = rs.integers(0, 2, J).astype(np.int8)
preds = np.where(rs.random((S * R, J), dtype=np.float32) < 0.8, labels, 1 - labels).astype(np.int8)
ri = pd.DataFrame({{"pretrain_seed": np.repeat(np.arange(S), R)}})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
res = multiboot(MatrixRuns(ri, preds, labels), nboot=NBOOT, rng=np.random.default_rng(1))
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": dt, "peak_mb": peak, "data_mb": before, "batch": res.details["batch"],
                  "ci": res.ci["base"]}}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nboot-loop", type=int, default=50, help="replicates for the plain loop (>= 50)")
    ap.add_argument("--nboot-memory", type=int, default=10_000)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args(argv)

    run_info, preds, labels = make_data()
    nb = args.nboot_loop
    rows = []

    load_before = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    loop = plain_loop(run_info, preds, labels, accuracy_score, True, nb, seed=7)
    t_loop, c_loop = time.perf_counter() - t, time.process_time() - c
    rows.append(("plain loop, sklearn accuracy_score (published semantics)", nb, t_loop, c_loop,
                 1.0, ""))

    multibootstrap(run_info, preds, labels, accuracy_score, True, nboot=2, rng=1, verbose=False)
    times, cpus = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        fast = multibootstrap(run_info, preds, labels, accuracy_score, True, nboot=nb, rng=7,
                              verbose=False)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    t_ref, c_ref = min(times), min(cpus)
    identical = np.array_equal(np.array(fast), np.array(loop))
    assert identical, "reference-compatible samples differ from the plain loop"
    rows.append(("multibootstrap(accuracy_score, rng=int): identical samples", nb, t_ref, c_ref,
                 t_loop / t_ref, ">= 300x"))

    t, c = time.perf_counter(), time.process_time()
    multibootstrap(run_info, preds, labels, accuracy_score, True, nboot=1000, rng=7, verbose=False)
    t_ref1000, c_ref1000 = time.perf_counter() - t, time.process_time() - c
    rows.append(("multibootstrap(accuracy_score, rng=int)", 1000, t_ref1000, c_ref1000,
                 t_loop / nb * 1000 / t_ref1000, "(loop time extrapolated)"))

    m = run_info["intervention"].to_numpy()
    ri = run_info.rename(columns={"seed": "pretrain_seed"})
    base = MatrixRuns(ri[~m].reset_index(drop=True), preds[~m], labels)
    expt = MatrixRuns(ri[m].reset_index(drop=True), preds[m], labels)
    warm_up = dict(nboot=50, rng=np.random.default_rng(0))  # enough replicates not to warn
    multiboot(base, expt, design="paired", **warm_up)
    times, cpus = [], []
    for i in range(3):
        t, c = time.perf_counter(), time.process_time()
        multiboot(base, expt, design="paired", nboot=1000, rng=np.random.default_rng(i))
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    t_mod, c_mod = min(times), min(cpus)
    rows.append(("multiboot(paired, 'accuracy', Generator), matrix input", 1000, t_mod, c_mod,
                 t_loop / nb * 1000 / t_mod, "< 0.5 s"))

    # the same through the tidy table (2.5 M rows): includes pivoting and id alignment
    ids = np.array([f"ex{j:05d}" for j in range(preds.shape[1])])

    def tidy(part):
        n_runs, n_ex = part.preds.shape
        info = part.run_info.loc[np.repeat(np.arange(n_runs), n_ex)].reset_index(drop=True)
        return info.assign(example_id=np.tile(ids, n_runs), label=np.tile(labels, n_runs),
                           prediction=part.preds.ravel())

    tb, te = tidy(base), tidy(expt)
    # measured like the matrix row: one warm-up call, then the best of three
    multiboot(tb, te, design="paired", run_cols=["finetune_seed"], **warm_up)
    times, cpus = [], []
    for i in range(3):
        t, c = time.perf_counter(), time.process_time()
        multiboot(tb, te, design="paired", nboot=1000, rng=np.random.default_rng(i),
                  run_cols=["finetune_seed"])
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    t_tidy, c_tidy = min(times), min(cpus)
    rows.append(("multiboot(paired, 'accuracy', Generator), tidy table 2.5M rows", 1000, t_tidy,
                 c_tidy, t_loop / nb * 1000 / t_tidy, "<= 2x matrix input"))

    print(f"\nMulti-Bootstrap benchmark: 2 sides x 25 seeds x 5 runs x 10,000 examples "
          f"(cpu count {os.cpu_count()}, load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after)\n")
    print(f"{'case':<66} {'nboot':>6} {'wall s':>8} {'cpu s':>8} {'x loop':>7}  target")
    for name, n, sec, cpu, ratio, target in rows:
        print(f"{name:<66} {n:>6} {sec:>8.3f} {cpu:>8.3f} {ratio:>7.0f}  {target}")
    print(f"\nidentical samples (reference-compatible vs plain loop, {nb} replicates): {identical}")
    ratio = t_loop / t_ref
    print(f"speed-up at equal nboot: {ratio:.0f}x (target >= 300x: {'met' if ratio >= 300 else 'NOT met'})")
    print(f"modern API, nboot=1000: {t_mod:.3f} s (target < 0.5 s: {'met' if t_mod < 0.5 else 'NOT met'})")
    tr = t_tidy / t_mod
    print(f"tidy table / matrix input: {t_tidy:.3f} s / {t_mod:.3f} s = {tr:.2f}x "
          f"(target <= 2x: {'met' if tr <= 2 else 'NOT met'})")

    if not args.skip_memory:
        code = MEMORY_CODE.format(root=str(ROOT), nboot=args.nboot_memory)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\nmemory: 25 seeds x 5 runs x 100,000 examples x nboot {args.nboot_memory:,} "
              f"(fresh process, batch {r['batch']}): {r['seconds']:.1f} s, peak RSS "
              f"{r['peak_mb']:.0f} MB (data loaded: {r['data_mb']:.0f} MB) "
              f"(target < 2048 MB: {'met' if r['peak_mb'] < 2048 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
