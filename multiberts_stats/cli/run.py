"""``multiberts-stats run EXPERIMENT.toml``: run an experiment into its store, then print its
results table (mean over seeds with its Multi-Bootstrap interval, per task x method x step x layer)."""

from __future__ import annotations

import sys

from multiberts_stats.errors import MultibertsStatsError
from multiberts_stats.runner import load_experiment, run_experiment
from multiberts_stats.runner.executors import EXECUTORS

from ._common import add_confidence_level, add_nboot, add_seed, confidence_level, parser

__all__ = ["cli_run"]

PROG = "multiberts-stats run"


def cli_run(argv: list[str]) -> int:
    """``multiberts-stats run EXPERIMENT.toml [options]``."""
    p = parser(PROG, "Run an experiment described in a TOML file into its store (jobs already in "
                     "the store are skipped), then print the results table of its jobs: per task x "
                     "method x step x layer, the mean over pretraining seeds of the task's metric, its "
                     "Multi-Bootstrap interval (seeds and examples resampled jointly) and the number "
                     "of seeds.")
    p.add_argument("experiment", help="the experiment TOML file")
    p.add_argument("--executor", choices=EXECUTORS, default="inprocess", help="where jobs run")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (processes / dask; default: the number of cores)")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (implies --executor dask; default: none)")
    p.add_argument("--retry-failed", action="store_true", help="rerun jobs recorded as failed")
    p.add_argument("--quiet", action="store_true", help="no progress bars (they only show on a terminal)")
    p.add_argument("--device", default=None,
                   help="cpu, cuda, cuda:N or auto (default: the file's `device`, else cpu)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default=None,
                   help="precision (default: the file's `dtype`, else float32)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per job (default: all cores in-process, cores / workers in pools)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="a smoke run: at most N training and N evaluation examples per task "
                        "(their own jobs in the store; default: the file's settings)")
    p.add_argument("--no-table", dest="table", action="store_false",
                   help="do not print the results table")
    add_nboot(p)
    add_confidence_level(p)
    add_seed(p)
    a = p.parse_args(argv)
    try:
        exp = load_experiment(a.experiment)
        if a.limit is not None:
            exp = exp.with_limit(a.limit)
        summary = run_experiment(exp, executor=a.executor, workers=a.workers,
                                 scheduler=a.scheduler, retry_failed=a.retry_failed, quiet=a.quiet,
                                 device=a.device, dtype=a.dtype, threads=a.threads)
    except (MultibertsStatsError, FileNotFoundError) as e:
        print(f"{PROG}: {str(e).replace('`limit` (examples', '`--limit` (examples')}", file=sys.stderr)
        return 2
    if a.table:
        _print_results(exp, a)
    print(summary.line() if a.quiet else f"multiberts-stats run {exp.name}: {summary.line()}")
    return 1 if summary.failed else 0


def _print_results(exp, a) -> None:
    """The results table of this run's jobs that are in the store (nothing else of the store)."""
    import pandas as pd

    from multiberts_stats.store import Store, read_predictions

    from .results import format_results, results_table

    level = confidence_level(a, PROG)
    try:
        store = Store(exp.store, create=False)
        keys = sorted({j.key for j in exp.jobs(device=a.device, dtype=a.dtype)} & store.done_keys())
        if not keys:
            print("(no results: no job of this run has finished)")
            return
        table = pd.concat([read_predictions(store.part_path(k)) for k in keys], ignore_index=True)
        res, warned = results_table(table, nboot=a.nboot, confidence_level=level, seed=a.seed)
    except (MultibertsStatsError, ValueError, OSError) as e:
        print(f"{PROG}: the results table could not be computed: {e}", file=sys.stderr)
        return
    print(f"\nResults of {exp.name} (mean over pretraining seeds; Multi-Bootstrap over seeds and "
          f"examples, nboot={a.nboot}):\n")
    print(format_results(res, level))
    for w in warned:
        print(f"WARNING: {w}", file=sys.stderr)
    print()
