"""The evaluation runner: every checkpoint x task x method x seed into a resumable Parquet store.

From Python::

    from multiberts_stats.runner import load_experiment, run_experiment
    exp = load_experiment("experiment.toml")
    summary = run_experiment(exp, executor="processes", workers=2)
    from multiberts_stats import read_predictions
    table = read_predictions(exp.store, method="probe")

From the shell::

    multiberts-stats run experiment.toml [--executor inprocess|processes|dask] [--workers N]
                         [--scheduler ADDRESS] [--retry-failed] [--quiet]
                         [--device cpu|cuda] [--dtype float32|bfloat16|float16]
    multiberts-stats status STORE

See :mod:`multiberts_stats.runner.experiment` for the experiment file and
:mod:`multiberts_stats.runner.executors` for the executors (and Slurm through dask-jobqueue).

What happens when things go wrong:

* Before any job, once per run: a device this machine lacks (``device = "cuda"`` without
  CUDA), or checkpoints / task data that only the hub has while no hub is reachable, stop the
  run with one :class:`~multiberts_stats.errors.EnvironmentFailure` naming the options
  (``checkpoint_root`` / ``$MULTIBERTS_CHECKPOINT_ROOT``, a task's ``data_dir`` /
  ``$MULTIBERTS_STATS_DATA``). Nothing is recorded.
* A job that fails is recorded with a kind (:mod:`multiberts_stats.runner.failures`):
  ``"environment"`` (out of memory, disk full, a killed worker, an unavailable device...) is
  retried on the next run; ``"input"`` (a corrupt checkpoint, bad data) is skipped until its
  inputs change (a new job key) or ``--retry-failed``. The grid goes on either way.
* ``multiberts-stats run`` exits 0 only when every job is in the store; otherwise 1, printing
  the command that reruns what is missing (2 for an experiment or an option that breaks a
  rule).
* Two runners share a store safely: each job is claimed by a lock whose heartbeat its holder
  refreshes; a waiting runner says who holds which job since when, and a lock without a
  heartbeat for ``stale_after`` seconds (or of a dead process on this host) is broken.
* A part file is trusted only when its footer matches the row count recorded at write time;
  a corrupt one is recomputed. A read-only store whose jobs are all done reports them done.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from multiberts_stats.errors import EnvironmentFailure, InputError, InputTypeError
from multiberts_stats.store import Store, describe_holder

from .executors import EXECUTORS, execute, run_job
from .experiment import Experiment, ExperimentError, load_experiment
from .jobs import CheckpointSpec, Job
from .methods import METHODS, Method, register_method

__all__ = ["Experiment", "ExperimentError", "Job", "CheckpointSpec", "load_experiment",
           "run_experiment", "RunSummary", "run_job", "METHODS", "Method", "register_method"]

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What one call of :func:`run_experiment` did.

    ``failed`` counts the jobs that failed in this run (``failed_environment`` of them for a
    reason of the machine: they are retried on the next run); ``previously_failed`` the jobs
    skipped because they failed before for a reason of their inputs (``--retry-failed`` reruns
    them). :attr:`ok` is False when any job failed or was skipped so.
    """

    store: str
    total: int = 0
    done: int = 0
    skipped: int = 0
    previously_failed: int = 0
    failed: int = 0
    failed_environment: int = 0
    errors: dict = field(default_factory=dict)
    wall_time: float = 0.0
    read_only: bool = False

    @property
    def ok(self) -> bool:
        return not (self.failed or self.previously_failed)

    def line(self) -> str:
        s = (f"{self.total} jobs: {self.done} run, {self.skipped} already in the store, "
             f"{self.failed} failed")
        if self.failed_environment:
            s += f" ({self.failed_environment} for a reason of the machine, retried on the next run)"
        if self.previously_failed:
            s += f", {self.previously_failed} failed before (skipped; --retry-failed reruns them)"
        return s + f" — {self.wall_time:.1f} s — store {self.store}"

    def retry_hint(self, experiment: str = "EXPERIMENT.toml") -> str | None:
        """The command that reruns what did not finish (None when everything did)."""
        if self.ok:
            return None
        input_failed = self.previously_failed + self.failed - self.failed_environment
        flag = " --retry-failed" if input_failed else ""
        return f"multiberts-stats run {experiment}{flag}"

    def __str__(self) -> str:
        return self.line()


def _check_count(name: str, value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InputError(f"The `{name}` parameter of run_experiment must be a positive integer. "
                         f"Got {value!r} instead.")


def _check_environment(jobs: list, device: str) -> None:
    """Fail fast, once per run, on what every job would trip over: a device this machine does
    not have, or checkpoints / data that only the hub has while no hub is reachable."""
    from .loading import check_device_available
    from .preflight import check_sources

    if device != "cpu":
        check_device_available(device)
    check_sources(jobs)


def run_experiment(exp, *, executor: str = "inprocess", workers: int | None = None,
                   scheduler: str | None = None, retry_failed: bool = False, quiet: bool = False,
                   device: str | None = None, dtype: str | None = None,
                   threads: int | None = None) -> RunSummary:
    """Run every job of an experiment that is not in its store yet.

    Parameters
    ----------
    exp : Experiment, str, Path or dict
        An experiment, the path of its TOML file, or its parsed dict.
    executor : {"inprocess", "processes", "dask"}
        Where jobs run: this process (default), a local pool of spawned processes, or Dask
        (a ``LocalCluster`` with ``workers`` processes, or the cluster at ``scheduler``).
    workers : int, optional
        Number of worker processes (processes / dask); defaults to the number of cores.
    scheduler : str, optional
        Address of a running Dask scheduler (implies ``executor="dask"``).
    retry_failed : bool
        Rerun jobs recorded as failed (they are skipped otherwise).
    quiet : bool
        No progress bars and no summary line.
    device, dtype : str, optional
        Override the experiment's device (``cpu``, ``cuda``...) and precision.
    threads : int, optional
        Torch threads per job; default all cores in-process, cores / workers in pools.

    Returns
    -------
    RunSummary
        Counts of jobs run, skipped (already done), failed, and the errors.

    Examples
    --------
    >>> summary = run_experiment("experiment.toml", executor="dask", workers=2)  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
    4 jobs: 4 run, 0 already in the store, 0 failed — 31.2 s — store /data/store
    """
    t0 = time.perf_counter()
    if isinstance(exp, (str, Path)):
        exp = load_experiment(exp)
    elif isinstance(exp, dict):
        exp = Experiment.from_dict(exp)
    if not isinstance(exp, Experiment):
        raise InputTypeError(f"The `exp` parameter of run_experiment must be an Experiment, a TOML path "
                             f"or a dict. Got {type(exp).__name__} instead.")
    if scheduler:
        executor = "dask"
    if executor not in EXECUTORS:
        raise InputError(f"The `executor` parameter of run_experiment must be one of {EXECUTORS}. "
                         f"Got {executor!r} instead.")
    _check_count("workers", workers)
    _check_count("threads", threads)
    jobs = exp.jobs(device=device, dtype=dtype)
    unique: dict[str, Job] = {}
    for j in jobs:
        unique.setdefault(j.key, j)
    store = Store(exp.store)
    done = store.done_keys()
    summary = RunSummary(store=str(store.path), total=len(unique))
    try:
        store.register_jobs(exp.name, {k: j.describe() for k, j in unique.items()})
    except OSError as e:
        if set(unique) <= done:  # a read-only (or full) store whose jobs are all done
            summary.skipped = len(unique)
            summary.read_only = True
            summary.wall_time = time.perf_counter() - t0
            logger.info("the store %s is not writable (%s), and all %d jobs are done", store.path,
                        e.strerror or e, len(unique))
            return summary
        raise EnvironmentFailure(f"The store {str(store.path)!r} is not writable ({e.strerror or e}) "
                                 f"and {len(set(unique) - done)} of its {len(unique)} jobs are not "
                                 "done.") from e
    failed_before = store.failed()
    todo = []
    for k, j in unique.items():
        if k in done:
            summary.skipped += 1
        elif (k in failed_before and failed_before[k].get("kind") != "environment" and not retry_failed
              and (failed_before[k].get("job") or {}).get("inputs", j.inputs_fingerprint())
              == j.inputs_fingerprint()):
            # an input failure is skipped until its inputs change (a data file edited in place
            # keeps the job key) or --retry-failed
            summary.previously_failed += 1
            summary.errors[k] = failed_before[k].get("error")
        else:
            todo.append(j)
    if todo:
        _check_environment(todo, todo[0].device)
    from multiberts_stats._progress import tqdm

    bar = tqdm(total=len(todo), desc=f"run {exp.name}", unit="job",
               disable=quiet or not sys.stderr.isatty(), file=sys.stderr)
    pending = todo
    told: set = set()
    try:
        while pending:
            busy = []
            for res in execute(pending, executor=executor, workers=workers, scheduler=scheduler,
                               threads=threads, quiet=quiet):
                st = res["status"]
                if st == "busy":
                    busy.append(res["key"])
                    continue
                if st == "done":
                    summary.done += 1
                elif st == "skipped":
                    summary.skipped += 1
                else:
                    summary.failed += 1
                    summary.failed_environment += res.get("kind") == "environment"
                    summary.errors[res["key"]] = res["error"]
                    logger.warning("job failed: %s: %s", unique[res["key"]].label(), res["error"])
                bar.update(1)
            if not busy:
                break
            # jobs another runner is running: wait for it to finish (or die), then take what is left
            while True:
                held = {k: v for k, v in store.running().items() if k in set(busy)}
                if not held:
                    break
                for k, info in held.items():
                    if k not in told:
                        told.add(k)
                        logger.warning("waiting for job %s (%s), held by %s", k, unique[k].label(),
                                       describe_holder(info))
                time.sleep(0.5)
            failed_now = store.failed()
            pending = []
            for k in busy:
                if store.has(k):
                    summary.skipped += 1
                    bar.update(1)
                elif k in failed_now and failed_now[k].get("kind") != "environment":
                    summary.failed += 1
                    summary.errors[k] = failed_now[k].get("error")
                    bar.update(1)
                else:
                    pending.append(unique[k])
    finally:
        bar.close()
    summary.wall_time = time.perf_counter() - t0
    logger.info("run %s: %s", exp.name, summary.line())
    return summary
