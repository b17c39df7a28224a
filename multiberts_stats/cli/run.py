"""``multiberts-stats run EXPERIMENT.toml``: run an experiment into its store."""

from __future__ import annotations

import argparse
import logging
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
    # job failures, waits for other runners: on stderr, for the duration of this command
    root = logging.getLogger("multiberts_stats")
    handler, level = None, root.level
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("multiberts-stats run: %(message)s"))
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)
    try:
        return _run(a)
    finally:
        if handler is not None:
            root.removeHandler(handler)
            root.setLevel(level)


def _run(a) -> int:
    try:
        exp = load_experiment(a.experiment)
        summary = run_experiment(exp, executor=a.executor, workers=a.workers,
                                 scheduler=a.scheduler, retry_failed=a.retry_failed, quiet=a.quiet,
                                 device=a.device, dtype=a.dtype, threads=a.threads)
    except (MultibertsStatsError, FileNotFoundError) as e:
        print(f"multiberts-stats run: {e}", file=sys.stderr)
        return 2
    print(summary.line() if a.quiet else f"multiberts-stats run {exp.name}: {summary.line()}")
    hint = summary.retry_hint(a.experiment)
    if hint:
        what = []
        if summary.failed:
            what.append(f"{summary.failed} job(s) failed")
        if summary.previously_failed:
            what.append(f"{summary.previously_failed} were skipped as failed before")
        print(f"multiberts-stats run: {' and '.join(what)}; rerun them with: {hint}", file=sys.stderr)
        return 1
    return 0
