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
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars (default: bars when stderr is a terminal)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (overrides the file)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default=None)
    p.add_argument("--threads", type=int, default=None, help="torch threads per job")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N examples per task (evaluation, and training for probes and "
                        "fine-tuning): a smoke run (default: all)")
    p.add_argument("--nboot", type=int, default=200,
                   help="bootstrap replicates of the closing results table (default: "
                        "%(default)s; 0: no table)")
    a = p.parse_args(argv)
    if a.limit is not None and a.limit < 1:
        print(f"multiberts-stats run: the --limit option must be a positive integer. Got "
              f"{a.limit} instead.", file=sys.stderr)
        return 2
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
        if a.limit is not None:
            for settings in exp.methods.values():
                for k in ("max_eval", "max_train"):
                    if k in settings:
                        settings[k] = a.limit if settings[k] is None else min(settings[k],
                                                                             a.limit)
        summary = run_experiment(exp, executor=a.executor, workers=a.workers,
                                 scheduler=a.scheduler, retry_failed=a.retry_failed,
                                 # progress bars are for terminals: none when stderr is redirected
                                 quiet=a.quiet or not sys.stderr.isatty(),
                                 device=a.device, dtype=a.dtype, threads=a.threads)
    except (MultibertsStatsError, FileNotFoundError) as e:
        print(f"multiberts-stats run: {e}", file=sys.stderr)
        return 2
    print(summary.line() if a.quiet else f"multiberts-stats run {exp.name}: {summary.line()}")
    if a.nboot:
        _print_results(exp, a.nboot)
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


def _print_results(exp, nboot: int) -> None:
    """The closing results table: per task x method x layer x step, the mean over seeds with
    its Multi-Bootstrap interval and the number of seeds (what this experiment's store holds
    for its tasks)."""
    from multiberts_stats.analysis.report import results_table
    from multiberts_stats.store import read_predictions

    try:
        table = read_predictions(exp.store)
    except (MultibertsStatsError, FileNotFoundError, ValueError):
        return
    names = {getattr(t, "name", t.get("name") if isinstance(t, dict) else t) for t in exp.tasks}
    table = table[table["task"].isin({str(n) for n in names})] if "task" in table else table
    if not len(table):
        return
    res = results_table(table, nboot=nboot)
    res["95% interval"] = [f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(res["low"], res["high"])]
    cols = [c for c in ("task", "method", "layer", "step", "metric") if c in res.columns]
    show = res[cols + ["mean", "95% interval", "n_seeds"]].rename(
        columns={"mean": "mean over seeds"})
    print(f"\nResults (Multi-Bootstrap over seeds and examples, nboot={nboot}; fewer than 20 "
          "seeds undercover, see docs/statistics.md):")
    print(show.to_string(index=False, float_format=lambda x: f"{x:.4f}", na_rep="—"))
