"""The matrix form of one side: :class:`MatrixRuns` and its cheap slicing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import describe
from .schema import SEED_COLUMN, TableError, run_label

__all__ = ["MatrixRuns"]


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
            raise TableError(f"MatrixRuns.where({run_label(equals)}) selects no run.")
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
        """:func:`~multiberts_stats.table.to_matrix_runs` (the one tidy -> matrix conversion)."""
        from .convert import to_matrix_runs

        return to_matrix_runs(df, **kwargs)

    def __repr__(self) -> str:
        extra = sorted(self.run_columns)
        return (f"MatrixRuns(runs={self.n_runs}, examples={self.n_examples}"
                + (f", run_columns={extra}" if extra else "")
                + (f", columns={sorted(self.columns)}" if self.columns else "") + ")")


MatrixRuns.__module__ = "multiberts_stats.table"
