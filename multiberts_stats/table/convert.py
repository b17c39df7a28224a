"""The one conversion tidy -> :class:`~multiberts_stats.table.MatrixRuns`, and the rule that one
side is one condition."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import describe
from .codes import blocked_ids, column_codes, column_values, example_codes, first_rows, run_codes
from .matrix import MatrixRuns
from .schema import (CONDITION_COLUMNS, EXAMPLE_ID, RUN_COLUMNS, SEED_COLUMN, TableError,
                     TableTypeError, as_names, py_value, run_label, table_where)

__all__ = ["check_one_condition", "to_matrix_runs"]


def to_matrix_runs(df, *, seed_col: str | Sequence[str] = SEED_COLUMN,
                   run_cols: Sequence[str] | None = None, value: str | None = "prediction",
                   label: str | None = "label", run_values: Sequence[str] = (),
                   example_values: Sequence[str] = (), carry: Sequence[str] = (),
                   order: str = "sorted", side: str = "table",
                   caller: str = "to_matrix_runs", one_condition: bool = False,
                   average_over: Sequence[str] = ()) -> MatrixRuns:
    """Turn a tidy predictions table into a :class:`MatrixRuns` (vectorised).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (run, example); every run must cover every example exactly once.
    seed_col : str or list of str
        Seed column(s): they come first in ``run_info``.
    run_cols : list of str, optional
        Columns that identify a run inside a seed (default: the :data:`RUN_COLUMNS` present).
    value : str or None
        Column that fills ``preds`` (``"prediction"``; or ``"exact_match"``, ``"score"``...);
        None leaves ``preds`` empty.
    label : str or None
        Per-example column that fills ``labels`` (must be equal across runs); None for none.
    run_values : list of str
        Further per-run columns -> ``run_columns`` (n_runs, n_examples).
    example_values : list of str
        Further per-example columns -> ``columns`` (n_examples,), equal across runs.
    carry : list of str
        Further run-level columns copied into ``run_info`` (must be constant within each run),
        e.g. ``"intervention"`` or ``"group"``.
    order : {"sorted", "appearance"}
        Runs and examples sorted (runs by their key columns, examples by id), or in the order
        of their first row (a published file's order).
    side, caller : str
        Used in error messages.
    one_condition : bool
        Refuse a table in which a condition column (:data:`CONDITION_COLUMNS`: task, layer,
        step, method, ...) varies inside a seed, unless ``run_cols`` or ``average_over`` names
        it (see :func:`check_one_condition`); the condition columns present are then part of
        the run key whatever ``run_cols`` says, so the error names them.
    average_over : list of str
        Condition columns averaged inside each seed as if they were runs.

    Returns
    -------
    MatrixRuns
        ``run_info`` holds the key columns (seed, then run columns) and ``carry``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pretrain_seed": [1, 1, 0, 0], "example_id": ["x", "y", "x", "y"],
    ...                    "exact_match": [1.0, 0.0, 0.0, 0.0], "group": ["g", "g", "h", "h"]})
    >>> m = to_matrix_runs(df, value=None, label=None, run_values=["exact_match"], carry=["group"])
    >>> m.run_columns["exact_match"].tolist(), m.run_info["group"].tolist()
    ([[0.0, 0.0], [1.0, 0.0]], ['h', 'g'])
    >>> to_matrix_runs(df, value=None, label=None, order="appearance").run_info["pretrain_seed"].tolist()
    [1, 0]
    """
    import pandas as pd

    where = table_where(side, caller)
    Where = where[0].upper() + where[1:]
    if not isinstance(df, pd.DataFrame):
        raise TableTypeError(f"{Where} must be a tidy pandas DataFrame (one row per run x "
                             f"example). Got {type(df).__name__} instead.")
    if order not in ("sorted", "appearance"):
        raise TableError(f"The `order` parameter of {caller} must be 'sorted' or 'appearance'. "
                         f"Got {order!r} instead.")
    if len(df) == 0:
        raise TableError(f"The `{side}` parameter of {caller} must have at least one run. Got an "
                         "empty table.")
    seeds = as_names(seed_col)
    if not seeds or not all(isinstance(c, str) for c in seeds):
        raise TableError(f"The `seed_col` parameter of {caller} must be a column name or a list "
                         f"of column names. Got {seed_col!r} instead.")
    run_values, example_values, carry = list(run_values), list(example_values), list(carry)
    needed = list(dict.fromkeys(seeds + [EXAMPLE_ID] + ([value] if value else []) +
                                ([label] if label else []) + run_values + example_values + carry))
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise TableError(f"{Where} needs the column(s) {missing} (seeds, example ids and what the "
                         f"metric reads). Got columns {list(df.columns)}.")
    if run_cols is None:
        rc = [c for c in RUN_COLUMNS if c in df.columns]
    else:
        rc = as_names(run_cols)
        bad = [c for c in rc if c not in df.columns]
        if bad:
            raise TableError(f"The `run_cols` parameter of {caller} names column(s) {bad} absent "
                             f"from {where}. Got columns {list(df.columns)}.")
    average_over = as_names(average_over)
    absent = [c for c in average_over if c not in df.columns]
    if absent:
        raise TableError(f"The `average_over` parameter of {caller} names column(s) {absent} "
                         f"absent from {where}. Got columns {list(df.columns)}.")
    declared = list(dict.fromkeys((rc if run_cols is not None else []) + average_over))
    key_cols = list(dict.fromkeys(seeds + rc + average_over))
    if one_condition:
        key_cols += [c for c in CONDITION_COLUMNS if c in df.columns and c not in key_cols]
    sort = order == "sorted"

    run_code, n_runs = run_codes(df, key_cols, sort, where)
    blocks = blocked_ids(df[EXAMPLE_ID], run_code, n_runs, sort)
    if blocks is not None:
        # every run one contiguous block with the same unique ids in the same order: complete
        # and unique by construction (n_runs blocks, one per run code)
        codes0, ex_ids, ex_first, block_run = blocks
        n_ex = len(ex_ids)
        ex_code = pair = cnt = None
        first = np.empty(n_runs, dtype=np.int64)
        first[block_run] = np.arange(n_runs, dtype=np.int64) * n_ex
        identity = np.array_equal(block_run, np.arange(n_runs)) and \
            np.array_equal(codes0, np.arange(n_ex))
    else:
        ex_code, ex_ids = example_codes(df[EXAMPLE_ID], sort, where, Where)
        ex_first = first_rows(ex_code, len(ex_ids))
        n_ex = len(ex_ids)
        pair = run_code * n_ex + ex_code
        first = first_rows(run_code, n_runs)
        cnt = np.bincount(pair, minlength=n_runs * n_ex)  # O(rows): duplicates and gaps at once
    run_info = df.iloc[first][key_cols].reset_index(drop=True)

    if blocks is None and (len(df) != n_runs * n_ex or (cnt != 1).any()):
        if (cnt > 1).any():
            p = int(np.argmax(cnt > 1))
            r, e = divmod(p, n_ex)
            raise TableError(
                f"{Where} must have one row per (run, example_id). Got "
                f"{int((cnt - 1)[cnt > 1].sum()) + int((cnt > 1).sum())} duplicated rows, e.g. "
                f"example_id {ex_ids[e]!r} {int(cnt[p])} times in run "
                f"({run_label({k: py_value(v) for k, v in run_info.iloc[r].items()})}).")
        have = cnt.reshape(n_runs, n_ex) > 0
        r = int(np.argmax(~have.all(axis=1)))
        miss = list(ex_ids[~have[r]][:5])
        raise TableError(
            f"Example ids must align between the runs of {where}: every run needs every example. "
            f"Run ({run_label({k: py_value(v) for k, v in run_info.iloc[r].items()})}) has "
            f"{int(have[r].sum())} of the {n_ex} example ids; missing e.g. {miss}.")

    def matrix(col):
        vals = column_values(df[col])
        if blocks is not None:
            v = vals.reshape(n_runs, n_ex)
            if identity:
                return v
            out = np.empty((n_runs, n_ex), dtype=vals.dtype)
            out[block_run[:, None], codes0[None, :]] = v
            return out
        out = np.empty(n_runs * n_ex, dtype=vals.dtype)
        out[pair] = vals
        return out.reshape(n_runs, n_ex)

    def per_example(col):
        vals = column_values(df[col])
        out = vals[ex_first]  # the first row of each example
        if blocks is not None and vals.dtype.kind in "biuf":
            vb = vals.reshape(n_runs, n_ex)
            same = (vb == vb[:1]) | (np.isnan(vb) & np.isnan(vb[:1])) if vals.dtype.kind == "f" \
                else vb == vb[:1]
            if same.all():
                return out
        code = ex_code if blocks is None else np.tile(codes0, n_runs)
        back = out[code]
        if vals.dtype.kind == "f":
            same = (vals == back) | (np.isnan(vals) & np.isnan(back))
        elif vals.dtype == object:
            same = np.asarray(pd.Series(vals).eq(pd.Series(back)).to_numpy()) | \
                (pd.isna(vals) & pd.isna(back))
        else:
            same = vals == back
        if not np.all(same):
            i = int(np.argmax(~np.asarray(same, bool)))
            r, e = int(run_code[i]), int(code[i])
            raise TableError(
                f"The `{col}` column of {where} must be the same in every run (a per-example "
                f"column). Got {describe(back[i])} and {describe(vals[i])} for example_id "
                f"{ex_ids[e]!r} (run {run_label({k: py_value(v) for k, v in run_info.iloc[r].items()})}).")
        return out

    for col in carry:
        c, _ = column_codes(df[col], False, where)
        c_first = c[first]
        if not np.array_equal(c, c_first[run_code]):
            i = int(np.argmax(c != c_first[run_code]))
            r = int(run_code[i])
            raise TableError(
                f"The `{col}` column must be constant within each run of {where}. Got "
                f"{describe(df[col].iloc[int(first[r])])} and {describe(df[col].iloc[i])} in run "
                f"({run_label({k: py_value(v) for k, v in run_info.iloc[r].items()})}).")
        run_info[col] = df[col].iloc[first].to_numpy()

    if one_condition:
        check_one_condition(run_info, seeds, declared, side=side, caller=caller)
    preds = matrix(value) if value else None
    labels = per_example(label) if label else None
    return MatrixRuns(run_info, preds, labels, ex_ids,
                      columns={c: per_example(c) for c in example_values if c != label},
                      run_columns={c: matrix(c) for c in run_values if c != value})


def check_one_condition(run_info, seed_col=SEED_COLUMN, declared: Sequence[str] = (), *,
                        side: str = "table", caller: str = "check_one_condition") -> None:
    """One side must be one condition: a condition column (:data:`CONDITION_COLUMNS`) that
    varies inside a seed is an error naming the column and its values, unless ``declared``
    (the caller's run columns or ``average_over``) names it.

    ``run_info`` has one row per run. Raises :class:`TableError`.

    Examples
    --------
    >>> import pandas as pd
    >>> ri = pd.DataFrame({"pretrain_seed": [0, 0, 1, 1], "layer": [3, 4, 3, 4]})
    >>> check_one_condition(ri, declared=["layer"])
    >>> check_one_condition(ri)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    multiberts_stats.table.TableError: ... mixes conditions: `layer` takes the values [3, 4] inside ...
    """
    seeds = as_names(seed_col)
    seeds = [c for c in seeds if c in run_info.columns]
    for col in CONDITION_COLUMNS:
        if col not in run_info.columns or col in declared or col in seeds:
            continue
        vals = run_info[col]
        if vals.nunique(dropna=False) < 2:
            continue
        per = run_info.groupby(seeds, sort=True, dropna=False)[col].nunique(dropna=False) \
            if seeds else None
        if per is None or (per > 1).any():
            if per is not None:
                s0 = per.index[int(np.argmax((per > 1).to_numpy()))]
                inside = run_info[(run_info[seeds[0]] == (s0[0] if isinstance(s0, tuple) else s0))]
                shown = sorted(map(py_value, inside[col].unique().tolist()), key=repr)
                where_s = f"inside {seeds[0]} {py_value(s0[0] if isinstance(s0, tuple) else s0)!r}"
            else:
                shown = sorted(map(py_value, vals.unique().tolist()), key=repr)
                where_s = "in one side"
            raise TableError(
                f"The `{side}` table passed to {caller} mixes conditions: `{col}` takes the "
                f"values {describe(shown)} {where_s} (one side must be one condition: rows of "
                f"several {col}s would be averaged as if they were runs). Select one value (e.g. "
                f"with a filter on `{col}`), or pass average_over=[{col!r}] to average them on "
                "purpose.")
