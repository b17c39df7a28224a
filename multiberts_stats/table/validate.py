"""Validation of a whole predictions table (the store validates its reads and writes with it)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import describe
from .codes import column_codes, combine_codes, run_codes
from .schema import (COLUMNS, EXAMPLE_ID, REQUIRED_COLUMNS, SEED_COLUMN, TableError, TableTypeError,
                     py_value, run_key_columns, run_label, table_where)

__all__ = ["validate_table"]



def validate_table(df, *, required: Sequence[str] = REQUIRED_COLUMNS, dtypes: bool = True,
                   unique: bool = True, run_cols: Sequence[str] | None = None,
                   seed_col: str | Sequence[str] = SEED_COLUMN, name: str = "table",
                   caller: str = "validate_table", coerce: bool = False):
    """Check a tidy predictions table against the contract.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (run, example).
    required : list of str
        Columns that must be present (default ``pretrain_seed`` and ``example_id``; the store
        passes every column of :data:`COLUMNS`).
    dtypes : bool
        Check that the columns of :data:`COLUMNS` present are coercible to their dtypes
        (integers integer-valued and not missing, ``layer`` nullable, floats numeric, strings
        not missing except ``cluster``).
    unique : bool
        Check one row per (run, example_id); runs are the seed column(s) and ``run_cols``
        (default the :data:`RUN_COLUMNS` present).
    name, caller : str
        Used in error messages ("the `base` table passed to multiboot ...").
    coerce : bool
        Return a copy with the columns of :data:`COLUMNS` converted to their dtypes.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself, or the coerced copy.

    Raises
    ------
    TableTypeError
        ``df`` is not a DataFrame.
    TableError
        A rule is broken; the message names the column, the rule and an offending value.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pretrain_seed": [0, 0], "example_id": ["a", "a"], "label": [1, 0]})
    >>> validate_table(df)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    multiberts_stats.table.TableError: ... must have one row per (run, example_id). Got 2 rows ...
    """
    import pandas as pd

    where = table_where(name, caller) if name != "table" else f"The table passed to {caller}"
    where = where[0].upper() + where[1:]
    if not isinstance(df, pd.DataFrame):
        raise TableTypeError(f"{where} must be a pandas DataFrame (one row per run x example). "
                             f"Got {type(df).__name__} instead.")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise TableError(f"{where} needs the column(s) {missing}. Got columns {list(df.columns)}.")
    out = df.copy() if coerce else df
    if dtypes:
        for col, dt in COLUMNS.items():
            if col not in df.columns:
                continue
            s = df[col]
            kind = s.dtype.kind if not isinstance(s.dtype, pd.api.extensions.ExtensionDtype) \
                else "-"
            if (dt == "int64" and kind in "iu") or (dt == "float64" and kind in "fiu") or \
                    (dt == "Int64" and (kind in "iu" or str(s.dtype) == "Int64")):
                if coerce:  # already of a fitting dtype: nothing can be wrong but the width
                    out[col] = s.astype(dt)
                continue
            if dt in ("int64", "Int64"):
                num = pd.to_numeric(s, errors="coerce")
                bad = num.isna() & s.notna()
                if not bad.any():
                    bad = num.notna() & (num != np.round(num.astype(float)))
                if bad.any():
                    i = int(np.argmax(bad.to_numpy()))
                    raise TableError(f"{where}: the `{col}` column must hold integers. Got "
                                     f"{describe(py_value(s.iloc[i]))} at row {i}.")
                if dt == "int64" and s.isna().any():
                    i = int(np.argmax(s.isna().to_numpy()))
                    raise TableError(f"{where}: the `{col}` column must have no missing values. "
                                     f"Got {int(s.isna().sum())} missing, the first at row {i}.")
                if coerce:
                    out[col] = num.astype(dt)
            elif dt == "float64":
                num = pd.to_numeric(s, errors="coerce")
                bad = num.isna() & s.notna()
                if bad.any():
                    i = int(np.argmax(bad.to_numpy()))
                    raise TableError(f"{where}: the `{col}` column must be numeric. Got "
                                     f"{describe(py_value(s.iloc[i]))} at row {i}.")
                if coerce:
                    out[col] = num.astype(float)
            else:
                if col != "cluster" and s.isna().any():
                    i = int(np.argmax(s.isna().to_numpy()))
                    raise TableError(f"{where}: the `{col}` column must have no missing values. "
                                     f"Got {int(s.isna().sum())} missing, the first at row {i}.")
                if coerce:
                    out[col] = s.astype("str").where(s.notna(), None) if col == "cluster" \
                        else s.astype("str")
    if unique and len(df):
        keys = run_key_columns(df, run_cols, seed_col)
        keys = [k for k in keys if k in df.columns]
        rc, n_runs = run_codes(df, keys, False, where.lower())
        ec, n_ex = column_codes(df[EXAMPLE_ID], False, where.lower())
        cell, n_cells = combine_codes([rc, ec], [n_runs, n_ex], False, where.lower())
        cnt = np.bincount(cell, minlength=n_cells)
        if (cnt > 1).any():
            g = int(np.argmax(cnt > 1))
            i = int(np.argmax(cell == g))
            row = df.iloc[i]
            raise TableError(f"{where} must have one row per (run, example_id). Got {int(cnt[g])} "
                             f"rows for example_id {row[EXAMPLE_ID]!r} in run "
                             f"({run_label({k: py_value(row[k]) for k in keys})}) "
                             f"({int((cnt > 1).sum())} duplicated pair(s) in all).")
    return out
