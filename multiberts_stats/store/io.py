"""Writing store files: canonical JSON, atomic writes, the rows -> Arrow conversion (validated
with the one table contract), job keys."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from multiberts_stats.errors import InputError, InputTypeError, MultibertsStatsError
from multiberts_stats.table import COLUMN_DEFAULTS, COLUMNS, TableError, validate_table

__all__ = ["StoreError", "StoreKeyError", "canonical_json", "atomic_write", "atomic_write_bytes",
           "to_arrow", "check_key", "PROVENANCE_KEY", "PART_PREFIX", "PART_SUFFIX"]

PROVENANCE_KEY = b"multiberts_stats.provenance"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


class StoreError(InputError):
    """A store folder or a rows table that breaks the store's rules."""


class StoreKeyError(MultibertsStatsError, KeyError):
    """A job or a column that the store does not have (a ``KeyError``)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def check_key(key, caller: str = "Store") -> str:
    """A job key: letters, digits, ``-``, ``_``, ``.``, no path separator, no ``..``.

    Examples
    --------
    >>> check_key("a1b2c3")
    'a1b2c3'
    >>> check_key("../../x")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    multiberts_stats.store.io.StoreError: The `key` parameter of Store must be a job key (letters,
    digits, '-', '_' and '.', starting with a letter or digit; no path separator, no '..'). Got
    '../../x' instead.
    """
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key) or ".." in key:
        raise StoreError(f"The `key` parameter of {caller} must be a job key (letters, digits, '-', "
                         f"'_' and '.', starting with a letter or digit; no path separator, no '..'). "
                         f"Got {key!r} instead.")
    return key


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


def base_schema():
    """The Arrow schema of :data:`multiberts_stats.table.COLUMNS` (one type per pandas dtype)."""
    import pyarrow as pa

    types = {"str": pa.string(), "int64": pa.int64(), "Int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(name, types[dt]) for name, dt in COLUMNS.items()])


def fsync_dir(path: Path) -> None:
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
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename)."""
    atomic_write(path, lambda f: f.write(data))


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
    base = base_schema()
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


