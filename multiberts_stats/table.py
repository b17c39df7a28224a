"""The predictions table: one contract between the runner, the store and the statistics.

The **tidy table** has one row per (run, example). Its columns and dtypes are
:data:`COLUMNS` (the store writes all of them; readers and tasks may add others, e.g.
Winogender's ``gender`` / ``occupation`` / ``bls_pct_female`` or SQuAD's ``exact_match`` / ``f1``).
A **run** is one value of :data:`RUN_COLUMNS`; the bootstrap's outer resampling unit is the
seed column (``pretrain_seed`` by default). Inside one seed, runs may differ only in their
*replicate* columns (:data:`REPLICATE_COLUMNS`: fine-tuning seed, hyper-parameters), which are
averaged; the *condition* columns (:data:`CONDITION_COLUMNS`: task, layer, step, method, ...)
say which procedure a side is, and a side is one condition.

The **matrix form** is :class:`MatrixRuns`: one side as matrices,

=================  ===============================  =========================================
attribute          shape                            content
=================  ===============================  =========================================
``run_info``       DataFrame, ``n_runs`` rows       the run columns of every run (row i = run i)
``preds``          ``(n_runs, n_examples)``         the ``prediction`` column (or None)
``labels``         ``(n_examples,)``                the ``label`` column (or None)
``example_ids``    ``(n_examples,)``                the ids of the columns (default 0..n-1)
``columns``        dict of ``(n_examples,)``        further per-example columns (``gender``...)
``run_columns``    dict of ``(n_runs, n_examples)`` further per-run columns (``score``, ``f1``...)
=================  ===============================  =========================================

Functions
---------
:func:`validate_table` (df, *, required, dtypes, unique) -> DataFrame
    Required columns present, dtypes coercible to :data:`COLUMNS`, one row per (run, example);
    errors name the column, the rule and the offending value. The store validates with it.
:func:`to_matrix_runs` (df, *, seed_col, run_cols, value, label, run_values, example_values,
    carry, order) -> MatrixRuns
    THE conversion tidy -> matrix form, vectorised (``pd.factorize``, ``np.bincount``, one
    scatter per column; no Python loop over runs or rows). Checks one row per (run, example),
    every run covering every example, per-example columns equal across runs, carried run-level
    columns constant within each run. Also :meth:`MatrixRuns.from_tidy`.

Slicing a parsed side is cheap (row selection of small matrices), so an analysis parses a
table once and slices per seed: :meth:`MatrixRuns.subset`, :meth:`MatrixRuns.by_seed`,
:meth:`MatrixRuns.where`, :meth:`MatrixRuns.split`. :meth:`MatrixRuns.to_reference` gives the
``(run_info, preds, labels)`` inputs of the reference-compatible ``multibootstrap``.

Importing this module imports numpy only; pandas is imported by the functions that need it.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from multiberts_stats.table import to_matrix_runs
>>> df = pd.DataFrame({"pretrain_seed": [0, 0, 1, 1, 1, 1], "finetune_seed": [0, 0, 0, 0, 1, 1],
...                    "example_id": ["b", "a", "a", "b", "a", "b"],
...                    "label": [0, 1, 1, 0, 1, 0], "prediction": [0, 1, 0, 0, 1, 1]})
>>> runs = to_matrix_runs(df)
>>> runs.preds.shape, list(runs.example_ids), runs.labels.tolist()
((3, 2), ['a', 'b'], [1, 0])
>>> runs.run_info.to_dict("list")
{'pretrain_seed': [0, 1, 1], 'finetune_seed': [0, 0, 1]}
>>> runs.subset(seeds=[1]).preds.tolist()
[[0, 0], [1, 1]]
>>> sorted(runs.by_seed())
[0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import InputError, InputTypeError, describe

__all__ = [
    "COLUMNS", "RUN_COLUMNS", "SEED_COLUMN", "REPLICATE_COLUMNS", "CONDITION_COLUMNS",
    "EXAMPLE_ID", "REQUIRED_COLUMNS", "TableError", "TableTypeError", "MatrixRuns",
    "validate_table", "to_matrix_runs", "run_key_columns",
]

#: The tidy table's columns, in order, with their pandas dtypes (docs/ARCHITECTURE.md).
COLUMNS: dict[str, str] = {
    "family": "str",
    "checkpoint": "str",
    "pretrain_seed": "int64",
    "step": "int64",
    "task": "str",
    "split": "str",
    "method": "str",
    "layer": "Int64",
    "finetune_seed": "int64",
    "hparams": "str",
    "example_id": "str",
    "label": "float64",
    "prediction": "float64",
    "score": "float64",
    "cluster": "str",
}

#: Columns that identify a run (those present are used by default).
RUN_COLUMNS: tuple[str, ...] = ("family", "checkpoint", "pretrain_seed", "step", "task", "split",
                                "method", "layer", "finetune_seed", "hparams")
#: The default seed column: the bootstrap's outer resampling unit.
SEED_COLUMN = "pretrain_seed"
#: Run columns whose runs inside one seed are replicates of one procedure (averaged in the seed).
REPLICATE_COLUMNS: tuple[str, ...] = ("finetune_seed", "hparams")
#: Run columns that name the condition (procedure); a side is one condition.
CONDITION_COLUMNS: tuple[str, ...] = ("family", "checkpoint", "step", "task", "split", "method",
                                      "layer")
#: The per-example id column.
EXAMPLE_ID = "example_id"
#: Columns every tidy table must have.
REQUIRED_COLUMNS: tuple[str, ...] = (SEED_COLUMN, EXAMPLE_ID)


class TableError(InputError):
    """A predictions table that breaks the table contract (a ``ValueError``)."""


class TableTypeError(InputTypeError):
    """Something that is not a predictions table where one is expected (a ``TypeError``)."""


def _names(cols) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _run_label(keys: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in keys.items())


# ----------------------------------------------------------------------------------------------
# the matrix form


@dataclass
class MatrixRuns:
    """One side in matrix form (the published library's layout).

    Parameters
    ----------
    run_info : pandas.DataFrame
        One row per run (row i describes ``preds[i]``); must hold the seed column(s) named by
        ``multiboot(seed_col=...)`` (``pretrain_seed`` by default; a ``seed`` column is used when
        ``pretrain_seed`` is absent).
    preds : array, shape (n_runs, n_examples), optional
        The ``prediction`` of every run on every example (None when the metric reads only
        ``run_columns``, e.g. SQuAD's ``exact_match``).
    labels : array, shape (n_examples,), optional
        Gold labels (the ``label`` column).
    example_ids : array, shape (n_examples,), optional
        Ids aligning the columns with another side; default ``0 .. n_examples-1``.
    columns : dict, optional
        Further per-example columns, e.g. ``gender``, ``occupation``, ``bls_pct_female`` (Winogender)
        or a cluster column.
    run_columns : dict, optional
        Further per-run matrices (n_runs, n_examples), e.g. ``score``, ``exact_match``, ``f1``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from multiberts_stats.bootstrap import MatrixRuns, multiboot
    >>> runs = MatrixRuns(pd.DataFrame({"pretrain_seed": [0, 0, 1, 1]}),
    ...                   preds=np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1], [1, 0, 0]]),
    ...                   labels=np.array([1, 0, 1]))
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # two seeds: the few-seeds warning
    ...     res = multiboot(runs, nboot=100, rng=0)
    >>> res.n_seeds, res.n_runs, res.n_examples
    ({'base': 2}, {'base': 4}, 3)
    >>> runs.n_runs, runs.n_examples, runs.seeds()
    (4, 3, [0, 1])
    >>> runs.subset(seeds=[1]).preds.tolist()
    [[0, 0, 1], [1, 0, 0]]
    """

    run_info: Any
    preds: np.ndarray | None = None
    labels: np.ndarray | None = None
    example_ids: np.ndarray | None = None
    columns: dict = field(default_factory=dict)
    run_columns: dict = field(default_factory=dict)

    # -- shape ---------------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        """Number of runs (rows of ``run_info``)."""
        return len(self.run_info)

    @property
    def n_examples(self) -> int:
        """Number of examples (columns of the matrices)."""
        if self.preds is not None:
            return int(np.shape(self.preds)[1])
        for m in self.run_columns.values():
            return int(np.shape(m)[1])
        if self.labels is not None:
            return len(self.labels)
        if self.example_ids is not None:
            return len(self.example_ids)
        return 0

    def matrix(self, name: str) -> np.ndarray:
        """The per-run matrix ``name`` (``"prediction"`` is ``preds``): (n_runs, n_examples)."""
        if name == "prediction" and self.preds is not None:
            return np.asarray(self.preds)
        if name in self.run_columns:
            return np.asarray(self.run_columns[name])
        have = (["prediction"] if self.preds is not None else []) + sorted(self.run_columns)
        raise TableError(f"This MatrixRuns has no per-run column {name!r}. Got {have}.")

    def example_column(self, name: str) -> np.ndarray:
        """The per-example column ``name`` (``"label"`` is ``labels``): (n_examples,)."""
        if name == "label" and self.labels is not None:
            return np.asarray(self.labels)
        if name in self.columns:
            return np.asarray(self.columns[name])
        have = (["label"] if self.labels is not None else []) + sorted(self.columns)
        raise TableError(f"This MatrixRuns has no per-example column {name!r}. Got {have}.")

    # -- seeds ---------------------------------------------------------------------------------
    def seed_column(self, seed_col: str = SEED_COLUMN) -> str:
        """The seed column of ``run_info`` (``seed`` stands in for a missing ``pretrain_seed``)."""
        cols = getattr(self.run_info, "columns", ())
        if seed_col in cols:
            return seed_col
        if seed_col == SEED_COLUMN and "seed" in cols:
            return "seed"
        raise TableError(f"The `seed_col` {seed_col!r} is not a column of this MatrixRuns' "
                         f"run_info. Got columns {list(cols)}.")

    def seed_values(self, seed_col: str = SEED_COLUMN) -> np.ndarray:
        """The seed of every run: (n_runs,)."""
        return self.run_info[self.seed_column(seed_col)].to_numpy()

    def seeds(self, seed_col: str = SEED_COLUMN) -> list:
        """The distinct seeds, sorted."""
        return sorted(set(self.seed_values(seed_col).tolist()))

    # -- slicing -------------------------------------------------------------------------------
    def take(self, rows) -> "MatrixRuns":
        """The runs ``rows`` (indices or a boolean mask over runs), in that order."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (self.n_runs,):
                raise TableError(f"A run mask passed to MatrixRuns.take must have one entry per "
                                 f"run ({self.n_runs}). Got shape {rows.shape}.")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        return replace(
            self, run_info=self.run_info.iloc[rows].reset_index(drop=True),
            preds=None if self.preds is None else np.asarray(self.preds)[rows],
            run_columns={k: np.asarray(v)[rows] for k, v in self.run_columns.items()})

    def subset(self, *, seeds: Iterable | None = None, seed_col: str = SEED_COLUMN,
               runs=None, examples=None) -> "MatrixRuns":
        """A slice of this side: the runs of ``seeds`` (and/or a run mask / indices ``runs``),
        and optionally the examples ``examples`` (a boolean mask over examples, or indices).

        Cheap: a row selection of the matrices (no table is parsed again).
        """
        out = self
        if runs is not None:
            out = out.take(runs)
        if seeds is not None:
            want = list(seeds)
            sv = out.seed_values(seed_col)
            mask = np.isin(sv, np.asarray(want, dtype=sv.dtype if sv.dtype != object else object))
            missing = sorted(set(want) - set(sv[mask].tolist()), key=repr)
            if missing:
                raise TableError(f"The `seeds` passed to MatrixRuns.subset must be seeds of this "
                                 f"side. Got {describe(missing)} not among {describe(out.seeds(seed_col))}.")
            out = out.take(mask)
        if examples is not None:
            ex = np.asarray(examples)
            if ex.dtype == bool:
                ex = np.flatnonzero(ex)
            n = out.n_examples
            ids = np.arange(n) if out.example_ids is None else np.asarray(out.example_ids)
            out = replace(
                out, preds=None if out.preds is None else np.asarray(out.preds)[:, ex],
                labels=None if out.labels is None else np.asarray(out.labels)[ex],
                example_ids=ids[ex],
                columns={k: np.asarray(v)[ex] for k, v in out.columns.items()},
                run_columns={k: np.asarray(v)[:, ex] for k, v in out.run_columns.items()})
        return out

    def by_seed(self, seed_col: str = SEED_COLUMN) -> dict:
        """``{seed: MatrixRuns of that seed's runs}``, seeds sorted."""
        sv = self.seed_values(seed_col)
        return {s: self.take(np.flatnonzero(sv == s)) for s in self.seeds(seed_col)}

    def where(self, **equals) -> "MatrixRuns":
        """The runs whose ``run_info`` columns equal the given values, e.g. ``where(step=0)``
        (a list or tuple value means "any of")."""
        mask = np.ones(self.n_runs, bool)
        for col, v in equals.items():
            if col not in self.run_info.columns:
                raise TableError(f"MatrixRuns.where: {col!r} is not a run column. Got columns "
                                 f"{list(self.run_info.columns)}.")
            vals = self.run_info[col].to_numpy()
            mask &= np.isin(vals, list(v)) if isinstance(v, (list, tuple, set)) else (vals == v)
        if not mask.any():
            raise TableError(f"MatrixRuns.where({_run_label(equals)}) selects no run.")
        return self.take(mask)

    def split(self, by) -> tuple["MatrixRuns", "MatrixRuns"]:
        """``(base, expt)``: runs where ``by`` is False / True. ``by`` is a boolean column of
        ``run_info`` (e.g. ``"intervention"``) or a boolean mask over runs."""
        if isinstance(by, str):
            if by not in self.run_info.columns:
                raise TableError(f"MatrixRuns.split: {by!r} is not a run column. Got columns "
                                 f"{list(self.run_info.columns)}.")
            mask = self.run_info[by].to_numpy()
        else:
            mask = np.asarray(by)
        if mask.shape != (self.n_runs,):
            raise TableError(f"MatrixRuns.split needs one entry per run ({self.n_runs}). Got "
                             f"shape {mask.shape}.")
        mask = mask.astype(bool)
        return self.take(~mask), self.take(mask)

    # -- the published layout ----------------------------------------------------------------
    @classmethod
    def from_reference(cls, run_info, preds, labels, example_ids=None):
        """Split the published layout (``run_info`` with ``seed`` and ``intervention``) into
        ``(base, expt)`` MatrixRuns; the ``seed`` column becomes ``pretrain_seed``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> ri = pd.DataFrame({"seed": [0, 1, 0, 1], "intervention": [False, False, True, True]})
        >>> base, expt = MatrixRuns.from_reference(ri, np.zeros((4, 3)), np.zeros(3))
        >>> base.preds.shape, list(expt.run_info.columns)
        ((2, 3), ['pretrain_seed', 'intervention'])
        """
        if not hasattr(run_info, "columns") or "intervention" not in run_info.columns:
            raise TableError("`run_info` passed to MatrixRuns.from_reference must be a DataFrame "
                             "with columns 'seed' and 'intervention'.")
        preds = np.asarray(preds)
        if preds.ndim != 2 or preds.shape[0] != len(run_info):
            raise TableError(f"`preds` passed to MatrixRuns.from_reference must have one row per "
                             f"row of run_info. Got shape {preds.shape} and {len(run_info)} rows.")
        ri = run_info.reset_index(drop=True).rename(columns={"seed": "pretrain_seed"})
        whole = cls(ri, preds, labels, example_ids)
        return whole.split("intervention")

    def to_reference(self, intervention=None, *, seed_col: str = SEED_COLUMN,
                     value: str = "prediction"):
        """``(run_info, preds, labels)`` for the reference-compatible ``multibootstrap``.

        ``run_info`` gets ``seed`` (from ``seed_col``) and ``intervention``: a boolean column of
        ``run_info`` named by ``intervention``, a mask over runs, or None (all runs base).
        ``value`` picks the matrix that becomes ``preds``.
        """
        ri = self.run_info.reset_index(drop=True).copy()
        if intervention is None:
            mask = np.zeros(self.n_runs, bool)
        elif isinstance(intervention, str):
            mask = ri[intervention].to_numpy().astype(bool)
        else:
            mask = np.asarray(intervention).astype(bool)
        if mask.shape != (self.n_runs,):
            raise TableError(f"The `intervention` of MatrixRuns.to_reference needs one entry per "
                             f"run ({self.n_runs}). Got shape {mask.shape}.")
        ri["seed"] = self.seed_values(seed_col)
        ri["intervention"] = mask
        return ri, self.matrix(value), self.labels

    @classmethod
    def from_tidy(cls, df, **kwargs) -> "MatrixRuns":
        """:func:`to_matrix_runs` (the one tidy -> matrix conversion)."""
        return to_matrix_runs(df, **kwargs)

    def __repr__(self) -> str:
        extra = sorted(self.run_columns)
        return (f"MatrixRuns(runs={self.n_runs}, examples={self.n_examples}"
                + (f", run_columns={extra}" if extra else "")
                + (f", columns={sorted(self.columns)}" if self.columns else "") + ")")


# ----------------------------------------------------------------------------------------------
# codes


def _dense(values: np.ndarray, span: int, sort: bool):
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


def _codes(series, sort: bool, where: str):
    """Integer codes of a column (NA gets its own code, last) and the number of codes."""
    import pandas as pd

    dt = series.dtype
    if dt.kind in "iu" and not isinstance(dt, pd.api.extensions.ExtensionDtype) and len(series):
        v = series.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < max(1 << 16, 2 * len(v)):
            v = v.astype(np.int64, copy=False)
            return _dense(v - lo if lo else v, hi - lo + 1, sort)
    elif dt == bool:
        return _dense(series.to_numpy().astype(np.int64), 2, sort)
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


def _combine(code_list, sizes, sort: bool, where: str):
    """Codes of the combinations of several code columns (first-appearance or sorted order)."""
    import pandas as pd

    if not code_list:
        return None, 0
    code = code_list[0]
    span = sizes[0]
    for c, n in zip(code_list[1:], sizes[1:]):
        if span * n >= 2 ** 62:
            code, _ = _codes(pd.Series(code, name="run"), sort, where)
            span = int(code.max()) + 1
        code = code * n + c
        span = span * n
    if span <= max(1 << 16, 2 * len(code)):
        return _dense(code, span, sort)
    out, uniq = pd.factorize(code, sort=sort)
    return out.astype(np.int64, copy=False), len(uniq)


def _values(series):
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
    if pd.api.types.is_string_dtype(dt) and dt != object:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        u = np.append(np.asarray(uniques, dtype=object), None)
        return u[codes]
    return series.to_numpy()


def _first_rows(code: np.ndarray, n: int) -> np.ndarray:
    """Index of the first row of every group code 0..n-1."""
    first = np.full(n, len(code), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(code), dtype=np.int64))
    return first


def run_key_columns(df, run_cols=None, seed_col=SEED_COLUMN) -> list[str]:
    """Columns that identify a run of ``df``: the seed column(s), then ``run_cols`` (default
    the :data:`RUN_COLUMNS` present)."""
    seeds = _names(seed_col)
    if run_cols is None:
        run_cols = [c for c in RUN_COLUMNS if c in df.columns]
    return list(dict.fromkeys(seeds + _names(run_cols)))


# ----------------------------------------------------------------------------------------------
# validation


def _where(name: str, caller: str) -> str:
    return f"the `{name}` table passed to {caller}" if caller else f"the `{name}` table"


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
    >>> validate_table(df)
    Traceback (most recent call last):
    ...
    multiberts_stats.table.TableError: The table passed to validate_table must have one row per (run, example_id). Got 2 rows for example_id 'a' in run (pretrain_seed=0) (1 duplicated pair(s) in all).
    """
    import pandas as pd

    where = _where(name, caller) if name != "table" else f"The table passed to {caller}"
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
            if dt in ("int64", "Int64"):
                num = pd.to_numeric(s, errors="coerce")
                bad = num.isna() & s.notna()
                if not bad.any():
                    bad = num.notna() & (num != np.round(num.astype(float)))
                if bad.any():
                    i = int(np.argmax(bad.to_numpy()))
                    raise TableError(f"{where}: the `{col}` column must hold integers. Got "
                                     f"{describe(_py(s.iloc[i]))} at row {i}.")
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
                                     f"{describe(_py(s.iloc[i]))} at row {i}.")
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
        codes, sizes = [], []
        for k in keys + [EXAMPLE_ID]:
            c, n = _codes(df[k], False, where.lower())
            codes.append(c)
            sizes.append(n)
        cell, n_cells = _combine(codes, sizes, False, where.lower())
        cnt = np.bincount(cell, minlength=n_cells)
        if (cnt > 1).any():
            g = int(np.argmax(cnt > 1))
            i = int(np.argmax(cell == g))
            row = df.iloc[i]
            raise TableError(f"{where} must have one row per (run, example_id). Got {int(cnt[g])} "
                             f"rows for example_id {row[EXAMPLE_ID]!r} in run "
                             f"({_run_label({k: _py(row[k]) for k in keys})}) "
                             f"({int((cnt > 1).sum())} duplicated pair(s) in all).")
    return out


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


# ----------------------------------------------------------------------------------------------
# the one conversion tidy -> MatrixRuns


def to_matrix_runs(df, *, seed_col: str | Sequence[str] = SEED_COLUMN,
                   run_cols: Sequence[str] | None = None, value: str | None = "prediction",
                   label: str | None = "label", run_values: Sequence[str] = (),
                   example_values: Sequence[str] = (), carry: Sequence[str] = (),
                   order: str = "sorted", side: str = "table",
                   caller: str = "to_matrix_runs") -> MatrixRuns:
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

    where = _where(side, caller)
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
    seeds = _names(seed_col)
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
        rc = _names(run_cols)
        bad = [c for c in rc if c not in df.columns]
        if bad:
            raise TableError(f"The `run_cols` parameter of {caller} names column(s) {bad} absent "
                             f"from {where}. Got columns {list(df.columns)}.")
    key_cols = list(dict.fromkeys(seeds + rc))
    sort = order == "sorted"

    codes, sizes = [], []
    for k in key_cols:
        c, n = _codes(df[k], sort, where)
        codes.append(c)
        sizes.append(n)
    run_code, n_runs = _combine(codes, sizes, sort, where)
    blocks = _blocked_ids(df[EXAMPLE_ID], run_code, n_runs, sort)
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
        ex_code, ex_ids = _example_codes(df[EXAMPLE_ID], sort, where, Where)
        ex_first = _first_rows(ex_code, len(ex_ids))
        n_ex = len(ex_ids)
        pair = run_code * n_ex + ex_code
        first = _first_rows(run_code, n_runs)
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
                f"({_run_label({k: _py(v) for k, v in run_info.iloc[r].items()})}).")
        have = cnt.reshape(n_runs, n_ex) > 0
        r = int(np.argmax(~have.all(axis=1)))
        miss = list(ex_ids[~have[r]][:5])
        raise TableError(
            f"Example ids must align between the runs of {where}: every run needs every example. "
            f"Run ({_run_label({k: _py(v) for k, v in run_info.iloc[r].items()})}) has "
            f"{int(have[r].sum())} of the {n_ex} example ids; missing e.g. {miss}.")

    def matrix(col):
        vals = _values(df[col])
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
        vals = _values(df[col])
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
                f"{ex_ids[e]!r} (run {_run_label({k: _py(v) for k, v in run_info.iloc[r].items()})}).")
        return out

    for col in carry:
        c, _ = _codes(df[col], False, where)
        c_first = c[first]
        if not np.array_equal(c, c_first[run_code]):
            i = int(np.argmax(c != c_first[run_code]))
            r = int(run_code[i])
            raise TableError(
                f"The `{col}` column must be constant within each run of {where}. Got "
                f"{describe(df[col].iloc[int(first[r])])} and {describe(df[col].iloc[i])} in run "
                f"({_run_label({k: _py(v) for k, v in run_info.iloc[r].items()})}).")
        run_info[col] = df[col].iloc[first].to_numpy()

    preds = matrix(value) if value else None
    labels = per_example(label) if label else None
    return MatrixRuns(run_info, preds, labels, ex_ids,
                      columns={c: per_example(c) for c in example_values if c != label},
                      run_columns={c: matrix(c) for c in run_values if c != value})


def _blocked_ids(ids, run_code: np.ndarray, n_runs: int, sort: bool):
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


def _example_codes(series, sort: bool, where: str, Where: str):
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
