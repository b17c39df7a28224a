"""The predictions store: a Parquet dataset of per-example predictions, one file per job.

Layout of a store folder::

    STORE/
      part-<jobkey>.parquet     one file per finished job (rows of the tidy table + provenance)
      _failed/<jobkey>.json     error and traceback of a failed job (removed when it succeeds)
      _locks/<jobkey>.lock      claim of a running job (pid, host, time); gone when it ends
      _jobs/<name>.json         the job list of each experiment run on this store (for ``status``)
      _log/<host>-<pid>.jsonl   one line per job started / finished / failed (an audit trail)
      _features/...             cached frozen-layer features (probes)

Readers (pandas, DuckDB, pyarrow, Spark) see only the ``part-*.parquet`` files: names starting
with ``_`` or ``.`` are ignored by Parquet dataset discovery, and a job's rows become visible
in one ``os.replace`` of a fully written and fsynced temporary file, so a killed writer never
leaves a partial file behind.  Each file's Parquet schema metadata carries the job's
provenance (experiment config, job key, seeds, library versions, git revision, date, wall time).

This module needs only numpy, pandas and pyarrow; it never imports torch.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import time
import traceback as _tb
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from multiberts_stats.errors import (
    DataFileError,
    InputError,
    InputTypeError,
    MultibertsStatsError,
)
from multiberts_stats.table import COLUMN_DEFAULTS, COLUMNS, TableError, validate_table

__all__ = ["Store", "read_predictions", "COLUMNS", "canonical_json", "StoreError", "atomic_write",
           "atomic_write_bytes", "to_arrow"]

PROVENANCE_KEY = b"multiberts_stats.provenance"
_PART_PREFIX = "part-"
_PART_SUFFIX = ".parquet"


class StoreError(InputError):
    """A store folder or a rows table that breaks the store's rules."""


class StoreKeyError(MultibertsStatsError, KeyError):
    """A job or a column that the store does not have (a ``KeyError``)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, compact separators, numpy scalars as Python numbers.

    Examples
    --------
    >>> canonical_json({"lr": 2e-05, "epochs": 3})
    '{"epochs":3,"lr":2e-05}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _arrow():
    import pyarrow as pa
    return pa


def _base_schema():
    """The Arrow schema of :data:`multiberts_stats.table.COLUMNS` (one type per pandas dtype)."""
    pa = _arrow()
    types = {"str": pa.string(), "int64": pa.int64(), "Int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(name, types[dt]) for name, dt in COLUMNS.items()])


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write) -> None:
    """Create ``path`` atomically: ``write(f)`` fills a temporary file in the same folder (binary
    mode), which is fsynced and renamed over ``path``; a crash leaves no partial file behind."""
    path = Path(path)
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    atomic_write(path, lambda f: f.write(data))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _pid_start_time(pid: int) -> float | None:
    try:
        import psutil
        return float(psutil.Process(pid).create_time())
    except Exception:  # psutil missing, or no such process
        return None


class JobLock:
    """A claim on one job: a lock file created with ``O_CREAT | O_EXCL``.

    Use as a context manager or call :meth:`release`.  A lock whose owner is a dead process
    on this host (or that is older than ``stale_after`` seconds, for owners on other hosts) is
    stale and may be broken by another runner.
    """

    def __init__(self, path: Path):
        self.path = path
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


class Store:
    """A folder of Parquet files holding per-example predictions, one file per job.

    Parameters
    ----------
    path : str or Path
        The store folder; created when absent (unless ``create=False``).
    create : bool
        Create the folder if it does not exist.
    stale_after : float
        Seconds after which a lock held by a process on *another* host is considered stale
        (locks of dead processes on this host are stale at once).

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

    def __init__(self, path, *, create: bool = True, stale_after: float = 6 * 3600.0):
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
        elif not self.path.is_dir():
            raise StoreError(f"The `path` parameter of Store must be an existing store folder. "
                             f"{str(self.path)!r} does not exist.")
        self.stale_after = float(stale_after)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __reduce__(self):
        return (Store, (str(self.path),), {"stale_after": self.stale_after})

    def __setstate__(self, state):
        self.stale_after = state["stale_after"]

    # ------------------------------------------------------------------ paths
    def part_path(self, key: str) -> Path:
        return self.path / f"{_PART_PREFIX}{key}{_PART_SUFFIX}"

    def _sub(self, name: str) -> Path:
        p = self.path / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def features_dir(self) -> Path:
        """Folder of the cached frozen-layer features."""
        return self._sub("_features")

    # ------------------------------------------------------------------ done / read
    def has(self, key: str) -> bool:
        """Whether the job ``key`` has finished (its rows are in the store)."""
        return self.part_path(key).exists()

    def done_keys(self) -> set[str]:
        """Keys of every finished job."""
        n0, n1 = len(_PART_PREFIX), len(_PART_SUFFIX)
        return {p.name[n0:-n1] for p in self.path.glob(f"{_PART_PREFIX}*{_PART_SUFFIX}")}

    def part_files(self) -> list[Path]:
        return sorted(self.path.glob(f"{_PART_PREFIX}*{_PART_SUFFIX}"))

    def write(self, key: str, rows: pd.DataFrame, provenance: Mapping[str, Any] | None = None) -> Path:
        """Write one job's rows atomically, with its provenance in the Parquet metadata.

        The rows must hold every column of :data:`COLUMNS` (extra task columns are kept).
        The file appears under its final name only once fully written and fsynced.
        """
        import pyarrow.parquet as pq

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
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        _fsync_dir(self.path)
        self.clear_failure(key)
        return final

    def provenance(self, key: str) -> dict:
        """The provenance dictionary stored with the job ``key``."""
        import pyarrow.parquet as pq

        path = self.part_path(key)
        if not path.exists():
            raise StoreKeyError(f"The job {key!r} has no rows in the store {str(self.path)!r}.")
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta.get(PROVENANCE_KEY, b"{}"))

    def read(self, columns: Iterable[str] | None = None, **filters) -> pd.DataFrame:
        """The tidy table of every finished job (see :func:`read_predictions`)."""
        return read_predictions(self.path, columns=columns, **filters)

    # ------------------------------------------------------------------ failures
    def record_failure(self, key: str, error: BaseException | str, *, job: Mapping | None = None,
                       traceback: str | None = None, wall_time: float | None = None) -> None:
        """Record that job ``key`` failed (error message and traceback)."""
        if isinstance(error, BaseException):
            message = f"{type(error).__name__}: {error}"
            if traceback is None:
                traceback = "".join(_tb.format_exception(type(error), error, error.__traceback__))
        else:
            message = str(error)
        rec = {"job_key": key, "error": message, "traceback": traceback or "", "job": dict(job or {}),
               "host": socket.gethostname(), "pid": os.getpid(), "wall_time": wall_time,
               "date": _dt.datetime.now(_dt.timezone.utc).isoformat()}
        atomic_write_bytes(self._sub("_failed") / f"{key}.json",
                           json.dumps(rec, indent=1, default=_json_default).encode())

    def clear_failure(self, key: str) -> None:
        p = self.path / "_failed" / f"{key}.json"
        try:
            p.unlink()
        except FileNotFoundError:
            pass

    def failed(self) -> dict[str, dict]:
        """Failed jobs: key -> record (``error``, ``traceback``, ``job``, ``date``...)."""
        out = {}
        d = self.path / "_failed"
        if d.is_dir():
            for p in sorted(d.glob("*.json")):
                try:
                    out[p.stem] = json.loads(p.read_text())
                except (OSError, ValueError):
                    continue
        return out

    # ------------------------------------------------------------------ locks
    def claim(self, key: str) -> JobLock | None:
        """Claim job ``key`` for this process; ``None`` when another live runner holds it.

        The claim is a lock file created with ``O_CREAT | O_EXCL`` holding pid, host and time.
        A stale lock (its process is dead on this host, or it is older than ``stale_after``) is
        broken under a short-lived second lock, so two runners never break it both.
        """
        d = self._sub("_locks")
        path = d / f"{key}.lock"
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break_if_stale(path):
                    return None
                continue
            info = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                    "start": _pid_start_time(os.getpid())}
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(info))
                f.flush()
                os.fsync(f.fileno())
            return JobLock(path)
        return None

    def _lock_is_stale(self, path: Path) -> bool:
        try:
            text = path.read_text()
            st = path.stat()
        except FileNotFoundError:
            return True
        try:
            info = json.loads(text)
        except ValueError:
            # being written right now, or the writer died between create and write
            return time.time() - st.st_mtime > 60.0
        if info.get("host") == socket.gethostname():
            pid = int(info.get("pid", -1))
            if not _pid_alive(pid):
                return True
            start = info.get("start")
            now_start = _pid_start_time(pid)
            if start is not None and now_start is not None and abs(now_start - start) > 1.0:
                return True  # the pid was reused by another process
            return False
        return time.time() - float(info.get("time", st.st_mtime)) > self.stale_after

    def _break_if_stale(self, path: Path) -> bool:
        """Remove ``path`` if stale; True if the caller should retry creating it."""
        if not path.exists():
            return True
        if not self._lock_is_stale(path):
            return False
        breaker = path.with_suffix(".break")
        try:
            fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - breaker.stat().st_mtime > 60.0:
                    breaker.unlink()
            except FileNotFoundError:
                pass
            return False
        os.close(fd)
        try:
            if path.exists() and self._lock_is_stale(path):
                path.unlink()
            return True
        finally:
            try:
                breaker.unlink()
            except FileNotFoundError:
                pass

    def running(self) -> dict[str, dict]:
        """Jobs claimed by a live runner: key -> lock info."""
        out = {}
        d = self.path / "_locks"
        if d.is_dir():
            for p in d.glob("*.lock"):
                if self._lock_is_stale(p):
                    continue
                try:
                    out[p.stem] = json.loads(p.read_text())
                except (OSError, ValueError):
                    out[p.stem] = {}
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
        ``errors`` (key -> error message).  Pending jobs are those of registered experiments
        that are neither done nor failed.
        """
        jobs = self.registered_jobs()
        done = self.done_keys()
        failed_rec = {k: v for k, v in self.failed().items() if k not in done}
        running = set(self.running()) - done
        pending = set(jobs) - done - set(failed_rec)
        return {"done": done, "failed": set(failed_rec), "running": running, "pending": pending,
                "errors": {k: v.get("error", "") for k, v in failed_rec.items()},
                "jobs": jobs}

    def log_event(self, event: str, key: str, **info) -> None:
        """Append one line to this process's audit log (``_log/<host>-<pid>.jsonl``)."""
        d = self._sub("_log")
        rec = {"event": event, "key": key, "pid": os.getpid(), "host": socket.gethostname(),
               "time": time.time(), **info}
        line = (json.dumps(rec, default=_json_default) + "\n").encode()
        fd = os.open(d / f"{socket.gethostname()}-{os.getpid()}.jsonl",
                     os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

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
        return pd.DataFrame.from_records(recs, columns=None if recs else ["event", "key", "pid", "host", "time"])


# ---------------------------------------------------------------------- conversion
def to_arrow(rows: pd.DataFrame, *, where: str = "Store.write"):
    """Check a rows frame against the tidy table (:func:`multiberts_stats.table.validate_table`:
    every column of :data:`COLUMNS`, their dtypes, one row per (run, example)) and convert it to
    an Arrow table."""
    import pyarrow as pa

    if not isinstance(rows, pd.DataFrame):
        raise InputTypeError(f"The `rows` of a store write must be a pandas DataFrame. "
                             f"Got {type(rows).__name__} instead.")
    absent = {c: v for c, v in COLUMN_DEFAULTS.items() if c not in rows.columns}
    if absent:
        rows = rows.assign(**absent)  # e.g. no pinned revision
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise StoreError(f"The rows written to the store must hold every column of the tidy "
                         f"table. Missing {missing}; got columns {list(rows.columns)}.")
    try:
        validate_table(rows, required=list(COLUMNS), name="rows", caller=where)
    except TableError as e:
        raise StoreError(str(e)) from e
    base = _base_schema()
    arrays, fields = [], []
    for field in base:
        col = rows[field.name]
        if pa.types.is_string(field.type):
            values = col.astype(object).where(col.notna(), None)
            values = [None if v is None else str(v) for v in values]
            arr = pa.array(values, type=pa.string())
        elif COLUMNS[field.name] == "Int64":
            arr = pa.array(pd.array(col, dtype="Int64"), type=pa.int64())
        elif pa.types.is_integer(field.type):
            arr = pa.array(np.asarray(col, dtype=np.int64), type=pa.int64())
        else:
            arr = pa.array(np.asarray(pd.to_numeric(col), dtype=np.float64), type=pa.float64())
        arrays.append(arr)
        fields.append(field)
    for name in rows.columns:
        if name in COLUMNS:
            continue
        arr = pa.Array.from_pandas(rows[name])
        arrays.append(arr)
        fields.append(pa.field(str(name), arr.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _empty_frame(extra: Mapping[str, Any] | None = None) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in COLUMNS.items()})


def read_predictions(path, *, columns: Iterable[str] | None = None, **filters) -> pd.DataFrame:
    """Read a store (or one Parquet file) back as the tidy predictions table.

    Parameters
    ----------
    path : str or Path
        A store folder written by the runner (or a single Parquet file of the tidy table).
    columns : list of str, optional
        Read only these columns.
    **filters
        ``column=value`` or ``column=[values...]`` keeps the rows whose column takes that
        value (or one of those values); ``layer=None`` keeps rows with no layer.  Any column
        of the table (including task extras such as ``occupation``) can be filtered on.

    Returns
    -------
    pandas.DataFrame
        One row per (run, example) with the columns of :data:`COLUMNS` (and task extras),
        sorted by run and example for a stable order.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> st = Store(tempfile.mkdtemp())
    >>> rows = pd.DataFrame({"family": "tiny", "checkpoint": "c", "pretrain_seed": [0, 0],
    ...     "step": 0, "task": "sst2", "split": "validation", "method": "probe", "layer": [0, 1],
    ...     "finetune_seed": 0, "hparams": "{}", "example_id": "a", "label": 1.0,
    ...     "prediction": [1.0, 0.0], "score": [0.9, 0.3], "cluster": "a"})
    >>> _ = st.write("k1", rows)
    >>> read_predictions(st.path, layer=1)[["layer", "prediction"]].to_dict("records")
    [{'layer': 1, 'prediction': 0.0}]
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if isinstance(path, Store):
        path = path.path
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"The `path` parameter of read_predictions must be a store folder or a "
                        f"Parquet file. Got {type(path).__name__} instead.")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataFileError(f"The `path` parameter of read_predictions must be an existing "
                                f"store folder or Parquet file. {str(p)!r} does not exist.")
    files = [p] if p.is_file() else sorted(p.glob(f"{_PART_PREFIX}*{_PART_SUFFIX}"))
    if p.is_dir() and not files:  # a plain Parquet dataset folder written by someone else
        files = sorted(f for f in p.rglob("*.parquet")
                       if not any(part.startswith(("_", ".")) for part in f.relative_to(p).parts))
    if not files:
        frame = _empty_frame()
        bad = [k for k in filters if k not in frame.columns]
        if bad:
            raise StoreKeyError(f"read_predictions got filters on unknown columns {bad}; the table "
                           f"has columns {list(frame.columns)}.")
        return frame
    schemas = [pq.read_schema(f).remove_metadata() for f in files]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    names = schema.names
    bad = [k for k in filters if k not in names]
    if bad:
        raise StoreKeyError(f"read_predictions got filters on unknown columns {bad}; the table has "
                       f"columns {names}.")
    expr = None
    for col, value in filters.items():
        field = pc.field(col)
        if value is None:
            e = field.is_null()
        elif isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)):
            vals = list(value)
            has_null = any(v is None for v in vals)
            vals = [_coerce(v, schema.field(col).type) for v in vals if v is not None]
            e = field.isin(pa.array(vals, type=schema.field(col).type))
            if has_null:
                e = e | field.is_null()
        else:
            e = field == pa.scalar(_coerce(value, schema.field(col).type), type=schema.field(col).type)
        expr = e if expr is None else (expr & e)
    dataset = ds.dataset([str(f) for f in files], schema=schema, format="parquet")
    cols = None
    if columns is not None:
        cols = list(columns)
        unknown = [c for c in cols if c not in names]
        if unknown:
            raise StoreKeyError(f"The `columns` parameter of read_predictions names unknown columns "
                           f"{unknown}; the table has columns {names}.")
    table = dataset.to_table(columns=cols, filter=expr)
    frame = table.to_pandas()
    if "layer" in frame.columns:
        frame["layer"] = frame["layer"].astype("Int64")
    for c, dt in COLUMNS.items():
        if c in frame.columns and dt == "str":
            frame[c] = frame[c].astype("str") if c != "cluster" else frame[c]
    order = [c for c in COLUMNS if c in frame.columns
             and c not in ("example_id", "cluster", "label", "prediction", "score")]
    if order and len(frame):
        frame = frame.sort_values(order, kind="stable", na_position="first").reset_index(drop=True)
    return frame


def _coerce(value, arrow_type):
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        if isinstance(value, (bool, np.bool_)) or not float(value).is_integer():
            raise InputTypeError(f"read_predictions: a filter value for an integer column must be an "
                            f"integer. Got {value!r} instead.")
        return int(value)
    if pa.types.is_floating(arrow_type):
        return float(value)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return str(value)
    return value
