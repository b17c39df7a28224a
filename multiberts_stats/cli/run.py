"""``multiberts-stats run EXPERIMENT.toml``: run an experiment into its store."""

from __future__ import annotations

import argparse
import sys

from multiberts_stats.errors import MultibertsStatsError
from multiberts_stats.runner import load_experiment, run_experiment
from multiberts_stats.runner.executors import EXECUTORS

__all__ = ["cli_run"]


def cli_run(argv: list[str]) -> int:
    """``multiberts-stats run EXPERIMENT.toml [options]``."""
    p = argparse.ArgumentParser(prog="multiberts-stats run",
                                description="Run an experiment described in a TOML file into its store.")
    p.add_argument("experiment", help="the experiment TOML file")
    p.add_argument("--executor", choices=EXECUTORS, default="inprocess")
    p.add_argument("--workers", type=int, default=None, help="worker processes (processes / dask)")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    p.add_argument("--retry-failed", action="store_true", help="rerun jobs recorded as failed")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (overrides the file)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default=None)
    p.add_argument("--threads", type=int, default=None, help="torch threads per job")
    a = p.parse_args(argv)
    try:
        exp = load_experiment(a.experiment)
        summary = run_experiment(exp, executor=a.executor, workers=a.workers,
                                 scheduler=a.scheduler, retry_failed=a.retry_failed, quiet=a.quiet,
                                 device=a.device, dtype=a.dtype, threads=a.threads)
    except (MultibertsStatsError, FileNotFoundError) as e:
        print(f"multiberts-stats run: {e}", file=sys.stderr)
        return 2
    print(summary.line() if a.quiet else f"multiberts-stats run {exp.name}: {summary.line()}")
    return 1 if summary.failed else 0
