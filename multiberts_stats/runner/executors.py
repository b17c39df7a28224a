"""Running jobs: in this process, in a local process pool, or on a Dask cluster.

Every executor runs the same picklable function, :func:`run_job`, which claims the job in the
store (an ``O_EXCL`` lock file), skips it when its rows are already there, runs the method,
writes the rows atomically with their provenance, and records a failure (error and traceback)
instead of raising, so the grid goes on.  No home-made queue: the process pool is
:class:`concurrent.futures.ProcessPoolExecutor` (spawned workers) and the cluster is
``dask.distributed``.

Dask on Slurm (dask-jobqueue)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=1, memory="32GB", walltime="04:00:00",
                           job_extra_directives=["--gres=gpu:1"])
    cluster.scale(jobs=20)                      # 20 Slurm jobs, one worker each
    run_experiment(exp, executor="dask", scheduler=cluster.scheduler_address)

or start a scheduler and workers yourself (``dask scheduler``; ``dask worker ADDRESS
--nthreads 1`` in each Slurm job) and pass ``--scheduler tcp://host:8786`` to
``multiberts-stats run``.  Workers need the package installed and the store folder on a shared
file system.
"""

from __future__ import annotations

import datetime as _dt
import functools
import gc
import os
import platform
import socket
import subprocess
import time
import traceback
from pathlib import Path

from multiberts_stats.errors import InputError
from multiberts_stats.store import Store

from .failures import failure_kind
from .methods import METHODS
from .rows import RunContext

__all__ = ["run_job", "execute", "EXECUTORS", "provenance_base"]

EXECUTORS = ("inprocess", "processes", "dask")


@functools.lru_cache(maxsize=1)
def _git_revision() -> str | None:
    here = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0:
            rev = out.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


@functools.lru_cache(maxsize=1)
def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in ("multiberts_stats", "torch", "transformers", "numpy", "pandas", "pyarrow",
                 "scikit-learn", "dask", "distributed"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    if "multiberts_stats" not in out:
        from multiberts_stats import __version__
        out["multiberts_stats"] = __version__
    return out


def provenance_base() -> dict:
    return {"versions": _versions(), "git_revision": _git_revision(), "host": socket.gethostname(),
            "pid": os.getpid(), "platform": platform.platform()}


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch
        if torch.get_num_threads() != threads:
            torch.set_num_threads(int(threads))


def run_job(job, *, quiet: bool = True, threads: int | None = None,
            default_threads: int | None = None) -> dict:
    """Run one job into its store; never raises for a job's own failure.

    Returns a small dict: ``key``, ``status`` ("done", "skipped" — already in the store,
    "busy" — claimed by another live runner, "failed"), ``error`` and ``wall_time``.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    store = Store(job.store)
    key = job.key
    if store.has(key):
        return {"key": key, "status": "skipped", "error": None, "wall_time": 0.0}
    lock = store.claim(key)
    if lock is None:
        return {"key": key, "status": "busy", "error": None, "wall_time": 0.0}
    t0 = time.perf_counter()
    import torch

    threads_before = torch.get_num_threads()
    try:
        if store.has(key):  # finished by another runner between our check and our claim
            return {"key": key, "status": "skipped", "error": None, "wall_time": 0.0}
        _set_threads(threads or default_threads)
        store.log_event("start", key, label=job.label())
        started = _dt.datetime.now(_dt.timezone.utc).isoformat()
        try:
            ctx = RunContext(store=store, quiet=quiet, fixed_threads=threads is not None)
            rows, extra = METHODS[job.method].run(job, ctx)
            wall = time.perf_counter() - t0
            prov = {**provenance_base(), "job_key": key, "job": job.describe(),
                    "experiment": job.experiment, "config": job.config,
                    "seeds": {"pretrain_seed": job.checkpoint.seed,
                              "finetune_seed": job.seed},
                    "started_at": started, "wall_time_s": wall, "method_info": extra}
            store.write(key, rows, prov)
            store.log_event("done", key, wall=wall, rows=len(rows))
            return {"key": key, "status": "done", "error": None, "wall_time": wall}
        except Exception as e:  # noqa: BLE001 — a failing job is recorded and the grid goes on
            wall = time.perf_counter() - t0
            kind = failure_kind(e)
            recorded = store.record_failure(key, e, wall_time=wall, kind=kind,
                                            job={**job.describe(), "inputs": job.inputs_fingerprint()})
            store.log_event("failed", key, error=f"{type(e).__name__}: {e}", kind=kind)
            return {"key": key, "status": "failed", "error": f"{type(e).__name__}: {e}",
                    "kind": kind, "recorded": recorded, "wall_time": wall}
    finally:
        lock.release()
        gc.collect()
        if torch.get_num_threads() != threads_before:
            torch.set_num_threads(threads_before)


def _exit_with_parent(parent_pid: int, every: float = 1.0) -> None:
    """In a pool worker: exit as soon as the process that started the pool is gone (a SIGKILL of
    the runner must not leave its workers computing for nobody)."""
    import threading

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(every)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_init(threads: int, parent_pid: int) -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _exit_with_parent(parent_pid)
    _set_threads(threads)


def _threads_for(workers: int, threads: int | None) -> int:
    if threads:
        return int(threads)
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def execute(jobs, *, executor: str = "inprocess", workers: int | None = None,
            scheduler: str | None = None, threads: int | None = None, quiet: bool = False,
            callback=None):
    """Run ``jobs`` with the chosen executor; yields each result dict as it completes."""
    if executor not in EXECUTORS:
        raise InputError(f"The `executor` parameter of run_experiment must be one of {EXECUTORS}. "
                         f"Got {executor!r} instead.")
    jobs = list(jobs)
    if not jobs:
        return
    if executor == "inprocess":
        for job in jobs:
            yield run_job(job, quiet=quiet, threads=threads)
        return
    if executor == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        n = workers or min(len(jobs), os.cpu_count() or 1)
        t = _threads_for(n, threads)
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"),
                                 initializer=_worker_init, initargs=(t, os.getpid())) as pool:
            futs = {pool.submit(run_job, job, quiet=True, threads=threads, default_threads=t): job
                    for job in jobs}
            for fut in as_completed(futs):
                yield _result_or_crash(fut, futs[fut])
        return
    # dask
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
        t = threads
    else:
        n = workers or min(len(jobs), os.cpu_count() or 1)
        t = _threads_for(n, threads)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    try:
        futs = client.map(run_job, jobs, quiet=True, threads=threads, default_threads=t, pure=False,
                          key=[f"job-{j.key}" for j in jobs])
        by_key = {f.key: j for f, j in zip(futs, jobs)}
        for fut in as_completed(futs):
            yield _result_or_crash(fut, by_key[fut.key])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _result_or_crash(fut, job) -> dict:
    """A worker that died (killed, out of memory) loses its job, not the grid."""
    try:
        return fut.result()
    except Exception as e:  # noqa: BLE001
        store = Store(job.store)
        msg = f"the worker running this job died: {type(e).__name__}: {e}"
        recorded = store.record_failure(job.key, msg, job=job.describe(), kind="environment",
                                        traceback="".join(traceback.format_exception(e)))
        return {"key": job.key, "status": "failed", "error": msg, "kind": "environment",
                "recorded": recorded, "wall_time": 0.0}
