"""Which part files of a store can be trusted, and reading the store back as the tidy table.

A job's part file ``part-<key>.parquet`` is trusted only when its Parquet footer reads and holds
the row count recorded at write time (``_done/<key>.json``: rows and bytes), so a truncated or
corrupt part is never "done": the runner recomputes it, and :func:`read_predictions` names it.
Parquet files in the store folder that the store did not write are ignored with a warning.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataFileError, DataWarning, InputTypeError
from multiberts_stats.table import COLUMNS

from .io import PART_PREFIX, PART_SUFFIX, PROVENANCE_KEY, StoreError, StoreKeyError

__all__ = ["read_predictions", "scan_parts", "verify_part", "is_store", "RECORD_DIR", "MARKER"]

RECORD_DIR = "_done"
MARKER = "_store.json"
_VERIFIED: dict[tuple, str | None] = {}


def is_store(path) -> bool:
    """Whether ``path`` is a store folder (its marker, job lists, write records or part files)."""
    p = Path(path)
    return p.is_dir() and ((p / MARKER).is_file() or (p / "_jobs").is_dir()
                           or (p / RECORD_DIR).is_dir() or any(p.glob(f"{PART_PREFIX}*{PART_SUFFIX}")))


def _record(store: Path, key: str) -> dict | None:
    try:
        rec = json.loads((store / RECORD_DIR / f"{key}.json").read_text())
        return rec if isinstance(rec, dict) else None
    except (OSError, ValueError):
        return None


def verify_part(path: Path, key: str, record: dict | None) -> str | None:
    """None when the part file can be trusted, else why not ("foreign: ..." for a file the
    store did not write)."""
    import pyarrow.parquet as pq

    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    cache_key = (str(path), st.st_size, st.st_mtime_ns, None if record is None else record.get("rows"))
    if cache_key in _VERIFIED:
        return _VERIFIED[cache_key]
    try:
        meta = pq.read_metadata(path)
        reason = None
        if record is not None:
            if int(meta.num_rows) != int(record.get("rows", -1)):
                reason = (f"it holds {meta.num_rows} rows where {record.get('rows')} were written")
            elif "bytes" in record and int(record["bytes"]) != st.st_size:
                reason = f"it is {st.st_size} bytes long where {record['bytes']} were written"
        else:
            prov = (meta.schema.to_arrow_schema().metadata or {}).get(PROVENANCE_KEY)
            if prov is None or json.loads(prov).get("job_key") != key:
                reason = "foreign: it has neither a write record nor this store's provenance"
    except Exception as e:  # noqa: BLE001 - ArrowInvalid, OSError...: the file cannot be read
        reason = f"its Parquet footer cannot be read ({type(e).__name__}: {e})"
    _VERIFIED[cache_key] = reason
    return reason


def scan_parts(store) -> tuple[dict[str, Path], dict[Path, str], list[Path]]:
    """The store's trusted parts (key -> file), corrupt parts (file -> why) and foreign
    Parquet files (not written by the store)."""
    store = Path(store)
    n0, n1 = len(PART_PREFIX), len(PART_SUFFIX)
    good, bad, foreign = {}, {}, []
    for f in sorted(store.glob("*.parquet")):
        if not f.name.startswith(PART_PREFIX):
            foreign.append(f)
            continue
        key = f.name[n0:-n1]
        why = verify_part(f, key, _record(store, key))
        if why is None:
            good[key] = f
        elif why.startswith("foreign"):
            foreign.append(f)
        else:
            bad[f] = why
    return good, bad, foreign


def _warn_foreign(foreign: list[Path], store: Path) -> None:
    if foreign:
        names = ", ".join(f.name for f in foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        warnings.warn(f"The store {str(store)!r} holds {len(foreign)} Parquet file(s) it did not "
                      f"write ({names}); they are ignored. Move them out of the store folder.",
                      DataWarning, stacklevel=3)


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
    >>> from multiberts_stats.store import Store
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

    path = getattr(path, "path", path)  # a Store
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"The `path` parameter of read_predictions must be a store folder or a "
                        f"Parquet file. Got {type(path).__name__} instead.")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataFileError(f"The `path` parameter of read_predictions must be an existing "
                                f"store folder or Parquet file. {str(p)!r} does not exist.")
    if p.is_file():
        files = [p]
    elif is_store(p):
        good, bad, foreign = scan_parts(p)
        if bad:
            listed = "; ".join(f"{f.name}: {why}" for f, why in list(bad.items())[:5])
            raise StoreError(f"The store {str(p)!r} has {len(bad)} corrupt or truncated part file(s) "
                             f"({listed}). Run the experiment again: the runner recomputes them.")
        _warn_foreign(foreign, p)
        files = sorted(good.values())
    else:  # a plain Parquet dataset folder written by someone else
        files = sorted(f for f in p.rglob("*.parquet")
                       if not any(part.startswith(("_", ".")) for part in f.relative_to(p).parts))
    if not files:
        frame = _empty_frame()
        bad = [k for k in filters if k not in frame.columns]
        if bad:
            raise StoreKeyError(f"read_predictions got filters on unknown columns {bad}; the table "
                           f"has columns {list(frame.columns)}.")
        return frame
    schemas = []
    for f in files:
        try:
            schemas.append(pq.read_schema(f).remove_metadata())
        except Exception as e:  # noqa: BLE001 - named below
            raise StoreError(f"The Parquet file {str(f)!r} cannot be read: {type(e).__name__}: {e}") from e
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
    try:
        table = dataset.to_table(columns=cols, filter=expr)
    except (pa.ArrowInvalid, OSError) as e:
        culprit = next((str(f) for f in files if _unreadable(f)), f"one of {len(files)} files in {str(p)!r}")
        raise StoreError(f"The Parquet file {culprit} cannot be read: {type(e).__name__}: {e}") from e
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


def _unreadable(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_table(path)
        return False
    except Exception:  # noqa: BLE001
        return True
