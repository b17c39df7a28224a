"""The predictions store: a Parquet dataset of per-example predictions, one file per job.

Layout of a store folder::

    STORE/
      _store.json               marks the folder as a store
      part-<jobkey>.parquet     one file per finished job (rows of the tidy table + provenance)
      _done/<jobkey>.json       its write record (rows, bytes): a part is trusted only if its
                                Parquet footer reads and matches it
      _failed/<jobkey>.json     error, traceback and kind ("input" or "environment") of a failed
                                job (removed when it succeeds)
      _locks/<jobkey>.lock      claim of a running job (pid, host, time), its mtime refreshed by a
                                heartbeat; gone when it ends
      _jobs/<name>.json         the job list of each experiment run on this store (for ``status``)
      _log/<host>-<pid>.jsonl   one line per job started / finished / failed (an audit trail)
      _features/...             cached frozen-layer features (probes)

Readers (pandas, DuckDB, pyarrow, Spark) see only the ``part-*.parquet`` files: names starting
with ``_`` or ``.`` are ignored by Parquet dataset discovery, and a job's rows become visible
in one ``os.replace`` of a fully written and fsynced temporary file, so a killed writer never
leaves a partial file behind.  Each file's Parquet schema metadata carries the job's
provenance (experiment config, job key, seeds, library versions, git revision, date, wall time).

Modules: :mod:`~multiberts_stats.store.io` (atomic writes, the validated rows -> Arrow
conversion, job keys), :mod:`~multiberts_stats.store.locks` (claims with a heartbeat),
:mod:`~multiberts_stats.store.parts` (which parts can be trusted; :func:`read_predictions`).
The package needs only numpy, pandas and pyarrow; it never imports torch.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import socket
import time
import traceback as _tb
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from multiberts_stats.errors import InputTypeError
from multiberts_stats.table import COLUMNS

from .io import (PART_PREFIX, PART_SUFFIX, PROVENANCE_KEY, StoreError, StoreKeyError, _json_default,
                 atomic_write, atomic_write_bytes, canonical_json, check_key, fsync_dir, to_arrow)
from .locks import (HEARTBEAT_S, STALE_AFTER_S, JobLock, break_if_stale, create_lock, describe_holder,
                    lock_info, lock_is_stale)
from .parts import MARKER, RECORD_DIR, is_store, read_predictions, scan_parts, verify_part

__all__ = ["Store", "read_predictions", "COLUMNS", "canonical_json", "StoreError", "StoreKeyError",
           "atomic_write", "atomic_write_bytes", "to_arrow", "JobLock", "is_store", "describe_holder",
           "FAILURE_KINDS"]

logger = logging.getLogger(__name__)

#: "input": skipped on later runs until its inputs change (or --retry-failed);
#: "environment": device, memory, disk, killed worker...: retried on the next run
FAILURE_KINDS = ("input", "environment")


class Store:
    """A folder of Parquet files holding per-example predictions, one file per job.

    Parameters
    ----------
    path : str or Path
        The store folder; created when absent (unless ``create=False``).
    create : bool
        Create the folder if it does not exist.
    stale_after : float
        Seconds without a heartbeat after which a job's lock is stale, on any host (locks of
        dead processes on this host are stale at once).
    heartbeat : float
        Seconds between two heartbeats of the locks this process holds.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> st = Store(tempfile.mkdtemp())
    >>> rows = pd.DataFrame({"family": "tiny", "checkpoint": "ckpt", "pretrain_seed": 0, "step": 0,
    ...     "task": "sst2", "split": "validation", "method": "probe", "layer": 1,
    ...     "finetune_seed": 0, "hparams": "{}", "example_id": ["a", "b"], "label": [0., 1.],
    ...     "prediction": [0., 0.], "score": [0.2, 0.4], "cluster": ["a", "b"]})
    >>> _ = st.write("abc123", rows, provenance={"note": "doctest"})
    >>> len(st.read())
    2
    >>> st.done_keys()
    {'abc123'}
    """

    def __init__(self, path, *, create: bool = True, stale_after: float = STALE_AFTER_S,
                 heartbeat: float = HEARTBEAT_S):
        if isinstance(path, Store):
            path = path.path
        if not isinstance(path, (str, os.PathLike)):
            raise InputTypeError(f"The `path` parameter of Store must be a folder path (str or Path). "
                                 f"Got {type(path).__name__} instead.")
        self.path = Path(path).expanduser()
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"The `path` parameter of Store must be a folder. Got the file "
                             f"{str(self.path)!r} instead.")
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
            if not (self.path / MARKER).exists():
                try:
                    atomic_write_bytes(self.path / MARKER, b'{"format": "multiberts_stats store", "version": 1}\n')
                except OSError:  # a read-only store: readable all the same
                    pass
        elif not self.path.is_dir():
            raise StoreError(f"The `path` parameter of Store must be an existing store folder. "
                             f"{str(self.path)!r} does not exist.")
        self.stale_after = float(stale_after)
        self.heartbeat = float(heartbeat)
        self._log_failed = False

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __reduce__(self):
        return (Store, (str(self.path),), {"stale_after": self.stale_after, "heartbeat": self.heartbeat})

    def __setstate__(self, state):
        self.stale_after = state["stale_after"]
        self.heartbeat = state.get("heartbeat", HEARTBEAT_S)
        self._log_failed = False

    @property
    def is_store(self) -> bool:
        """Whether the folder is a store (its marker, job lists, write records or parts)."""
        return is_store(self.path)

    # ------------------------------------------------------------------ paths
    def part_path(self, key: str) -> Path:
        return self.path / f"{PART_PREFIX}{check_key(key, 'Store.part_path')}{PART_SUFFIX}"

    def _sub(self, name: str) -> Path:
        p = self.path / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def features_dir(self) -> Path:
        """Folder of the cached frozen-layer features."""
        return self._sub("_features")

    def _write_record(self, key: str) -> dict | None:
        try:
            return json.loads((self.path / RECORD_DIR / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    # ------------------------------------------------------------------ done / read
    def has(self, key: str) -> bool:
        """Whether the job ``key`` has finished: its part file exists, its Parquet footer reads
        and holds the row count recorded when it was written. A corrupt part is not done (the
        runner recomputes it; a warning names it)."""
        path = self.part_path(key)
        if not path.exists():
            return False
        why = verify_part(path, key, self._write_record(key))
        if why is not None:
            logger.warning("the part file %s is not trusted (%s); its job will be recomputed", path, why)
        return why is None

    def done_keys(self) -> set[str]:
        """Keys of every finished job (trusted part files only)."""
        return set(scan_parts(self.path)[0])

    def corrupt_parts(self) -> dict[Path, str]:
        """Part files that cannot be trusted (truncated, corrupt, row count off): file -> why."""
        return scan_parts(self.path)[1]

    def part_files(self) -> list[Path]:
        return sorted(scan_parts(self.path)[0].values())

    def write(self, key: str, rows: pd.DataFrame, provenance: Mapping[str, Any] | None = None) -> Path:
        """Write one job's rows atomically, with its provenance in the Parquet metadata.

        The rows must hold every column of :data:`COLUMNS` (extra task columns are kept) and
        pass :func:`multiberts_stats.table.validate_table`. The write record (rows, bytes) is
        written first; the part appears under its final name only once fully written and
        fsynced, so a killed or out-of-space writer leaves nothing half-written.
        """
        import pyarrow.parquet as pq

        check_key(key, "Store.write")
        table = to_arrow(rows)
        prov = dict(provenance or {})
        prov.setdefault("job_key", key)
        prov.setdefault("written_at", _dt.datetime.now(_dt.timezone.utc).isoformat())
        meta = dict(table.schema.metadata or {})
        meta.pop(b"pandas", None)
        meta[PROVENANCE_KEY] = canonical_json(prov).encode()
        table = table.replace_schema_metadata(meta)
        final = self.part_path(key)
        tmp = self.path / f".tmp-{final.name}-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as f:
                pq.write_table(table, f, compression="zstd")
                f.flush()
                os.fsync(f.fileno())
            record = {"key": key, "rows": int(table.num_rows), "bytes": tmp.stat().st_size,
                      "written_at": prov["written_at"]}
            atomic_write_bytes(self._sub(RECORD_DIR) / f"{key}.json", json.dumps(record).encode())
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        fsync_dir(self.path)
        self.clear_failure(key)
        return final

    def provenance(self, key: str) -> dict:
        """The provenance dictionary stored with the job ``key``."""
        import pyarrow.parquet as pq

        path = self.part_path(key)
        if not path.exists():
            raise StoreKeyError(f"The job {key!r} has no rows in the store {str(self.path)!r}.")
        try:
            meta = pq.read_schema(path).metadata or {}
        except Exception as e:  # noqa: BLE001 - named
            raise StoreError(f"The part file {str(path)!r} cannot be read: {type(e).__name__}: {e}") from e
        return json.loads(meta.get(PROVENANCE_KEY, b"{}"))

    def read(self, columns: Iterable[str] | None = None, **filters) -> pd.DataFrame:
        """The tidy table of every finished job (see :func:`read_predictions`)."""
        return read_predictions(self.path, columns=columns, **filters)

    # ------------------------------------------------------------------ failures
    def record_failure(self, key: str, error: BaseException | str, *, job: Mapping | None = None,
                       traceback: str | None = None, wall_time: float | None = None,
                       kind: str = "input") -> bool:
        """Record that job ``key`` failed (error message, traceback and ``kind``: "input" or
        "environment"). Returns False, with a logged error, when the disk refuses the record
        (ENOSPC, read-only): nothing half-written is left behind and the caller goes on."""
        check_key(key, "Store.record_failure")
        if kind not in FAILURE_KINDS:
            raise StoreError(f"The `kind` parameter of Store.record_failure must be one of "
                             f"{FAILURE_KINDS}. Got {kind!r} instead.")
        if isinstance(error, BaseException):
            message = f"{type(error).__name__}: {error}"
            if traceback is None:
                traceback = "".join(_tb.format_exception(type(error), error, error.__traceback__))
        else:
            message = str(error)
        rec = {"job_key": key, "error": message, "kind": kind, "traceback": traceback or "",
               "job": dict(job or {}), "host": socket.gethostname(), "pid": os.getpid(),
               "wall_time": wall_time, "date": _dt.datetime.now(_dt.timezone.utc).isoformat()}
        try:
            atomic_write_bytes(self._sub("_failed") / f"{key}.json",
                               json.dumps(rec, indent=1, default=_json_default).encode())
        except OSError as e:
            logger.error("could not record the failure of job %s in %s (%s: %s); the job failed with: %s",
                         key, self.path, type(e).__name__, errno.errorcode.get(e.errno, e), message)
            return False
        return True

    def clear_failure(self, key: str) -> None:
        p = self.path / "_failed" / f"{check_key(key, 'Store.clear_failure')}.json"
        try:
            p.unlink()
        except FileNotFoundError:
            pass

    def failed(self) -> dict[str, dict]:
        """Failed jobs: key -> record (``error``, ``kind``, ``traceback``, ``job``, ``date``...)."""
        out = {}
        d = self.path / "_failed"
        if d.is_dir():
            for p in sorted(d.glob("*.json")):
                try:
                    rec = json.loads(p.read_text())
                except (OSError, ValueError):
                    continue
                rec.setdefault("kind", "input")
                out[p.stem] = rec
        return out

    # ------------------------------------------------------------------ locks
    def claim(self, key: str) -> JobLock | None:
        """Claim job ``key`` for this process; ``None`` when another live runner holds it.

        The claim is a lock file created with ``O_CREAT | O_EXCL`` holding pid, host and time,
        kept alive by a heartbeat (see :mod:`multiberts_stats.store.locks`). A stale lock is
        broken under a short-lived second lock, so two runners never break it both.
        """
        path = self._sub("_locks") / f"{check_key(key, 'Store.claim')}.lock"
        for _ in range(3):
            lock = create_lock(path, self.heartbeat)
            if lock is not None:
                return lock
            if not break_if_stale(path, self.stale_after):
                return None
        return None

    def running(self) -> dict[str, dict]:
        """Jobs claimed by a live runner: key -> lock info (``host``, ``pid``, ``time`` = since
        when, ``heartbeat`` = last sign of life)."""
        out = {}
        d = self.path / "_locks"
        if d.is_dir():
            for p in d.glob("*.lock"):
                if lock_is_stale(p, self.stale_after):
                    continue
                info = lock_info(p)
                if info is not None:
                    out[p.stem] = info
        return out

    # ------------------------------------------------------------------ jobs / status / log
    def register_jobs(self, name: str, jobs: Mapping[str, Mapping]) -> None:
        """Remember an experiment's job list (key -> description) for :meth:`status`."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "experiment"
        atomic_write_bytes(self._sub("_jobs") / f"{safe}.json",
                           json.dumps({"name": name, "jobs": dict(jobs)}, indent=1,
                                      default=_json_default).encode())

    def registered_jobs(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        d = self.path / "_jobs"
        if d.is_dir():
            for p in sorted(d.glob("*.json")):
                try:
                    out.update(json.loads(p.read_text())["jobs"])
                except (OSError, ValueError, KeyError):
                    continue
        return out

    def status(self) -> dict:
        """Counts and keys of done, pending, running and failed jobs.

        Returns a dict with ``done``, ``failed``, ``running``, ``pending`` (sets of keys) and
        ``errors`` (key -> error message), ``kinds`` (key -> "input" / "environment").
        Failures are those of registered jobs (a failure of a key that no registered experiment
        has any more is not reported).  Pending jobs are those of registered experiments
        that are neither done nor failed.
        """
        jobs = self.registered_jobs()
        done = self.done_keys()
        # failures of keys no longer in any registered experiment do not linger
        failed_rec = {k: v for k, v in self.failed().items()
                      if k not in done and (not jobs or k in jobs)}
        running = set(self.running()) - done
        pending = set(jobs) - done - set(failed_rec)
        return {"done": done, "failed": set(failed_rec), "running": running, "pending": pending,
                "errors": {k: v.get("error", "") for k, v in failed_rec.items()},
                "kinds": {k: v.get("kind", "input") for k, v in failed_rec.items()},
                "jobs": jobs}

    def log_event(self, event: str, key: str, **info) -> None:
        """Append one line to this process's audit log (``_log/<host>-<pid>.jsonl``).

        The log is an audit trail, not the store's state: a disk that refuses the line (ENOSPC,
        read-only) is reported once and the job goes on."""
        rec = {"event": event, "key": key, "pid": os.getpid(), "host": socket.gethostname(),
               "time": time.time(), **info}
        line = (json.dumps(rec, default=_json_default) + "\n").encode()
        try:
            d = self._sub("_log")
            fd = os.open(d / f"{socket.gethostname()}-{os.getpid()}.jsonl",
                         os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as e:
            if not self._log_failed:
                self._log_failed = True
                logger.warning("could not write the audit log of %s (%s: %s)", self.path,
                               type(e).__name__, e)

    def events(self) -> pd.DataFrame:
        """Every audit-log line of every runner, as a DataFrame (event, key, pid, host, time...)."""
        recs = []
        d = self.path / "_log"
        if d.is_dir():
            for p in sorted(d.glob("*.jsonl")):
                for line in p.read_text().splitlines():
                    try:
                        recs.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut by a kill
        return pd.DataFrame.from_records(recs, columns=None if recs else
                                         ["event", "key", "pid", "host", "time"])


