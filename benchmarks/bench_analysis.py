"""artifact_vs_procedure: the tidy table parsed once per side vs once per bootstrap call.

One ``artifact_vs_procedure`` call at S seeds runs the Multi-Bootstrap S + 3 times (the
procedure, one examples-only call per seed, the two one-axis calls of the variance
decomposition). The analysis parses each side's tidy table into matrices once and slices the
matrices per seed; the baseline, run in the same process, is what the analysis did before: every
call gets a DataFrame (the per-seed calls a slice of it) and converts it again.

Both paths get the same draws (the baseline's procedure call and the analysis' are checked
equal). The table counts calls of the one tidy -> matrix conversion
(:func:`multiberts_stats.table.to_matrix_runs`, one per side per parse) and the wall time.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_analysis.py [--seeds 25 --runs 5
--examples 2000 --nboot 1000 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

import multiberts_stats.analysis.sides as sides_module
import multiberts_stats.bootstrap.modern as engine_module
from multiberts_stats.analysis import artifact_vs_procedure
from multiberts_stats.bootstrap import multiboot
from multiberts_stats.metrics import compute_metric


def make_tables(n_seeds: int, n_runs: int, n_ex: int, seed: int = 0):
    """(base, expt): binary labels, accuracy ~0.7 with seed effects, expt a little better."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_ex).astype(float)
    seed_eff = rng.normal(0, 0.03, n_seeds)

    def side(shift):
        p = 0.7 + shift + seed_eff[:, None, None]
        correct = rng.random((n_seeds, n_runs, n_ex)) < p
        lab = np.broadcast_to(labels, correct.shape)
        return pd.DataFrame({
            "pretrain_seed": np.repeat(np.arange(n_seeds), n_runs * n_ex),
            "finetune_seed": np.tile(np.repeat(np.arange(n_runs), n_ex), n_seeds),
            "example_id": np.tile([f"ex{i:05d}" for i in range(n_ex)], n_seeds * n_runs),
            "label": lab.ravel(),
            "prediction": np.where(correct, lab, 1 - lab).ravel(),
        })

    return side(0.0), side(0.01)


class Counter:
    """Counts calls of the tidy -> matrix conversion, wherever it is called from."""

    def __init__(self):
        self.n = 0
        self._orig = engine_module.to_matrix_runs

    def __enter__(self):
        def counted(*a, **k):
            self.n += 1
            return self._orig(*a, **k)

        engine_module.to_matrix_runs = counted
        sides_module.to_matrix_runs = counted
        return self

    def __exit__(self, *exc):
        engine_module.to_matrix_runs = self._orig
        sides_module.to_matrix_runs = self._orig


def per_dataframe_baseline(base, expt, nboot, rng_seed):
    """The former path: every multiboot call converts its DataFrame (slice) again, and the
    undefined-metric check groups the table per seed and run."""
    kw = {"design": "paired", "metric": "accuracy", "seed_col": "pretrain_seed", "nboot": nboot,
          "confidence_level": 0.95, "quiet": True}
    for t in (base, expt):
        for _, g in t.groupby("pretrain_seed", sort=True):
            [compute_metric("accuracy", r) for _, r in g.groupby("finetune_seed")]
    ss = np.random.SeedSequence(rng_seed)
    proc = multiboot(base, expt, rng=rng_seed, **kw)
    for s in sorted(base["pretrain_seed"].unique()):
        multiboot(base[base.pretrain_seed == s], expt[expt.pretrain_seed == s],
                  sample_seeds=False, rng=np.random.default_rng(ss.spawn(1)[0]), **kw)
    multiboot(base, expt, sample_examples=False, rng=np.random.default_rng(ss.spawn(1)[0]), **kw)
    multiboot(base, expt, sample_seeds=False, rng=np.random.default_rng(ss.spawn(1)[0]), **kw)
    return proc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=25)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--nboot", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    base, expt = make_tables(args.seeds, args.runs, args.examples)
    print(f"{args.seeds} seeds x {args.runs} runs x {args.examples} examples per side "
          f"({len(base):,} rows), paired accuracy, nboot={args.nboot}, best of {args.repeat}")
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in (("per-call DataFrame (before)",
                          lambda: per_dataframe_baseline(base, expt, args.nboot, 0)),
                         ("parse once, slice per seed (after)",
                          lambda: artifact_vs_procedure(base, expt, design="paired",
                                                        nboot=args.nboot, rng=0).procedure)):
            times, out = [], None
            for _ in range(args.repeat):
                with Counter() as c:
                    t0 = time.perf_counter()
                    out = fn()
                    times.append(time.perf_counter() - t0)
            rows[name] = (c.n, min(times), out)
    (_, (n0, t0, r0)), (_, (n1, t1, r1)) = rows.items()
    assert np.array_equal(r0.delta_distribution, r1.delta_distribution), "different draws"
    print(f"{'path':<38} {'conversions':>11} {'wall s':>8}")
    for name, (n, t, _) in rows.items():
        print(f"{name:<38} {n:>11} {t:>8.3f}")
    print(f"ratio (before / after): conversions {n0 / n1:.1f}x, wall time {t0 / t1:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
