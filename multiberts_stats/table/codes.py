"""Vectorised coding of table columns: integer codes by counting (small integer ranges) or
hashing (``pd.factorize``), combined run codes, first rows, and the block-layout fast path for
example ids. No Python loop over rows or runs."""

from __future__ import annotations

import numpy as np

from .schema import TableError

__all__ = ["blocked_ids", "column_changes", "column_codes", "column_values", "combine_codes",
           "dense_codes", "example_codes", "first_rows", "run_codes"]


def dense_codes(values: np.ndarray, span: int, sort: bool):
    """Codes 0..k-1 of non-negative integers below ``span`` (sorted or first-appearance order),
    by counting instead of hashing."""
    present = np.bincount(values, minlength=span) > 0
    if sort and present.all():
        return values, span
    if sort:
        lookup = np.cumsum(present) - 1
    else:
        first = np.full(span, len(values), dtype=np.int64)
        np.minimum.at(first, values, np.arange(len(values)))
        rank = np.argsort(first[present], kind="stable")
        lookup = np.zeros(span, dtype=np.int64)
        lookup[np.flatnonzero(present)[rank]] = np.arange(len(rank))
    return lookup[values], int(present.sum())


def column_codes(series, sort: bool, where: str):
    """Integer codes of a column (NA gets its own code, last) and the number of codes."""
    import pandas as pd

    dt = series.dtype
    if dt.kind in "iu" and not isinstance(dt, pd.api.extensions.ExtensionDtype) and len(series):
        v = series.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < max(1 << 16, 2 * len(v)):
            v = v.astype(np.int64, copy=False)
            return dense_codes(v - lo if lo else v, hi - lo + 1, sort)
    elif dt is np.dtype(bool):
        return dense_codes(series.to_numpy().astype(np.int64), 2, sort)
    try:
        codes, uniques = pd.factorize(series, sort=sort, use_na_sentinel=True)
    except TypeError as e:
        raise TableError(f"The `{series.name}` column of {where} must hold mutually comparable "
                         f"values (they are sorted). Got {e}.") from None
    n = len(uniques)
    if (codes < 0).any():
        codes = np.where(codes < 0, n, codes)
        n += 1
    return codes.astype(np.int64, copy=False), n


def combine_codes(code_list, sizes, sort: bool, where: str):
    """Codes of the combinations of several code columns (first-appearance or sorted order)."""
    import pandas as pd

    if not code_list:
        return None, 0
    code = code_list[0]
    span = sizes[0]
    for c, n in zip(code_list[1:], sizes[1:]):
        if span * n >= 2 ** 62:
            code, _ = column_codes(pd.Series(code, name="run"), sort, where)
            span = int(code.max()) + 1
        code = code * n + c
        span = span * n
    if span <= max(1 << 16, 2 * len(code)):
        return dense_codes(code, span, sort)
    out, uniq = pd.factorize(code, sort=sort)
    return out.astype(np.int64, copy=False), len(uniq)


def column_changes(series) -> np.ndarray:
    """``out[i]`` is True where row ``i + 1`` differs from row ``i`` (missing values count as
    changes): one vectorised comparison, no hashing."""
    import pandas as pd

    arr = series.array
    if hasattr(arr, "__arrow_array__"):
        import pyarrow as pa
        import pyarrow.compute as pc

        a = pa.array(arr)
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        ne = pc.not_equal(a.slice(1), a.slice(0, len(a) - 1))
        return np.asarray(ne.fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)
    dt = series.dtype
    if isinstance(dt, pd.api.extensions.ExtensionDtype):
        if pd.api.types.is_numeric_dtype(dt):
            v = series.to_numpy(dtype=float, na_value=np.nan)
        else:
            v = series.astype(object).to_numpy()
    else:
        v = series.to_numpy()
    out = np.asarray(v[1:] != v[:-1], dtype=bool)
    if v.dtype.kind == "f" or v.dtype == object:
        out |= np.asarray(pd.isna(v[1:]), dtype=bool)
    return out


def run_codes(df, key_cols, sort: bool, where: str):
    """Codes of the runs (combinations of ``key_cols``) of every row, and their number.

    Rows of one run usually sit in contiguous blocks (the store's and the published files'
    layout): the key columns are compared row to row (no hashing), only the first row of each
    block is coded, and the codes are repeated over the blocks — so the cost hardly depends on
    how many (string) key columns there are. A fragmented table (e.g. shuffled rows) is coded
    column by column instead.
    """
    n = len(df)
    if not key_cols:
        return np.zeros(n, dtype=np.int64), 1
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in key_cols:
        change[1:] |= column_changes(df[k])
    starts = np.flatnonzero(change)
    if len(starts) * 8 <= n:
        heads = df.iloc[starts]
        codes, sizes = [], []
        for k in key_cols:
            c, m = column_codes(heads[k], sort, where)
            codes.append(c)
            sizes.append(m)
        head_code, n_runs = combine_codes(codes, sizes, sort, where)
        return np.repeat(head_code, np.diff(np.r_[starts, n])), n_runs
    codes, sizes = [], []
    for k in key_cols:
        c, m = column_codes(df[k], sort, where)
        codes.append(c)
        sizes.append(m)
    return combine_codes(codes, sizes, sort, where)


def column_values(series):
    """A column as a numpy array; strings through factorize (fast for Arrow-backed strings);
    missing numbers as NaN."""
    import pandas as pd

    dt = series.dtype
    if isinstance(dt, pd.api.types.CategoricalDtype):
        return series.astype(object).to_numpy()
    if pd.api.types.is_bool_dtype(dt) and not series.hasnans:
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dt):
        if isinstance(dt, pd.api.extensions.ExtensionDtype):
            if series.hasnans:
                return series.to_numpy(dtype=float, na_value=np.nan)
            return series.to_numpy(dtype=dt.numpy_dtype)
        return series.to_numpy()
    if pd.api.types.is_string_dtype(dt) and dt is not np.dtype(object):
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        u = np.append(np.asarray(uniques, dtype=object), None)
        return u[codes]
    return series.to_numpy()


def first_rows(code: np.ndarray, n: int) -> np.ndarray:
    """Index of the first row of every group code 0..n-1."""
    first = np.full(n, len(code), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(code), dtype=np.int64))
    return first


def blocked_ids(ids, run_code: np.ndarray, n_runs: int, sort: bool):
    """Fast path for the usual layout (the store's, a published file's): rows in blocks, one
    block per run, every block the same unique ids in the same order. Returns (codes of the
    first block's ids, the ids, the first row of each id, the run of each block) or None when
    the table is not laid out so."""
    import pandas as pd

    n = len(run_code)
    if n_runs == 0 or n % n_runs:
        return None
    n0 = n // n_runs
    rc = run_code.reshape(n_runs, n0)
    if not (rc == rc[:, :1]).all():
        return None
    head = ids.iloc[:n0]
    try:
        codes0, uniques = pd.factorize(head, sort=sort, use_na_sentinel=True)
    except TypeError:
        return None
    if len(uniques) != n0 or (codes0 < 0).any():
        return None
    arr = ids.array
    if hasattr(arr, "__arrow_array__"):
        import pyarrow as pa

        pa_ids = pa.array(arr)
        if isinstance(pa_ids, pa.ChunkedArray):
            pa_ids = pa_ids.combine_chunks()
        first = pa_ids.slice(0, n0)
        if not all(pa_ids.slice(r * n0, n0).equals(first) for r in range(1, n_runs)):
            return None
    elif ids.dtype.kind in "iuf":
        v = ids.to_numpy().reshape(n_runs, n0)
        if not (v == v[:1]).all():
            return None
    else:
        return None
    codes0 = codes0.astype(np.int64, copy=False)
    ex_first = np.empty(n0, dtype=np.int64)
    ex_first[codes0] = np.arange(n0)
    u = np.asarray(uniques)
    u = u if np.issubdtype(u.dtype, np.number) else np.asarray(uniques, dtype=object)
    return codes0, u, ex_first, rc[:, 0].copy()


def example_codes(series, sort: bool, where: str, Where: str):
    import pandas as pd

    try:
        codes, uniques = pd.factorize(series, sort=sort, use_na_sentinel=True)
    except TypeError:
        raise TableError(f"The `example_id` column of {where} must hold mutually comparable "
                         f"values (they are sorted). Got values of types "
                         f"{sorted({type(v).__name__ for v in series.iloc[:1000]})}.") from None
    if (codes < 0).any():
        raise TableError(f"The `example_id` column of {where} must not be missing. Got "
                         f"{int((codes < 0).sum())} missing id(s).")
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object) \
        if not np.issubdtype(np.asarray(uniques).dtype, np.number) else np.asarray(uniques)
