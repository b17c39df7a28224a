"""``multiberts-stats run EXPERIMENT.toml``: run an experiment into its store, then print its
results table (mean over seeds with its Multi-Bootstrap interval, per task x method x step x layer)."""

from __future__ import annotations

import argparse
import logging
import sys

from multiberts_stats.errors import MultibertsStatsError
from multiberts_stats.runner import load_experiment, run_experiment
from multiberts_stats.runner.executors import EXECUTORS

from ._common import add_confidence_level, add_nboot, add_seed, flag_error, parser
from .results import print_run_results

__all__ = ["cli_run"]

PROG = "multiberts-stats run"
#: parameters of run_experiment / Experiment.with_limit -> the flags that set them
FLAGS = {"workers": "--workers", "threads": "--threads", "executor": "--executor",
         "scheduler": "--scheduler", "n": "--limit"}
DESCRIPTION = ("Run an experiment described in a TOML file into its store (jobs already in the store are "
               "skipped), then print the results table of its jobs: per task x method x step x layer, the "
               "mean over pretraining seeds of the task's metric, its Multi-Bootstrap interval (seeds and "
               "examples resampled jointly) and the number of seeds.")


def cli_run(argv: list[str]) -> int:
    """``multiberts-stats run EXPERIMENT.toml [options]``."""
    p: argparse.ArgumentParser = parser(PROG, DESCRIPTION)
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
    from multiberts_stats.runner.settings import DEVICE_RULE, check_device

    if a.device is not None:
        try:
            check_device(a.device)
        except MultibertsStatsError:
            print(f"{PROG}: The `--device` option {DEVICE_RULE}. Got {a.device!r} instead.", file=sys.stderr)
            return 2
    try:
        exp = load_experiment(a.experiment)
        if a.limit is not None:
            exp = exp.with_limit(a.limit)
        summary = run_experiment(exp, executor=a.executor, workers=a.workers,
                                 scheduler=a.scheduler, retry_failed=a.retry_failed, quiet=a.quiet,
                                 device=a.device, dtype=a.dtype, threads=a.threads)
    except (MultibertsStatsError, FileNotFoundError) as e:
        print(f"{PROG}: {flag_error(e, FLAGS, parameters_only=True)}", file=sys.stderr)
        return 2
    if a.table:
        print_run_results(exp, a, PROG)
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
