"""The table contract itself: column names, dtypes, run / condition / replicate columns, the
error classes, and the small helpers the other parts of :mod:`multiberts_stats.table` share.

numpy only.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, InputTypeError

__all__ = ["COLUMNS", "COLUMN_DEFAULTS", "CONDITION_COLUMNS", "EXAMPLE_ID", "REPLICATE_COLUMNS", "REQUIRED_COLUMNS",
           "RUN_COLUMNS", "SEED_COLUMN", "TableError", "TableTypeError", "as_names", "py_value",
           "run_key_columns", "run_label", "table_where"]

#: The tidy table's columns, in order, with their pandas dtypes (docs/ARCHITECTURE.md).
COLUMNS: dict[str, str] = {
    "family": "str",
    "checkpoint": "str",
    "revision": "str",
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
RUN_COLUMNS: tuple[str, ...] = ("family", "checkpoint", "revision", "pretrain_seed", "step", "task",
                                "split", "method", "layer", "finetune_seed", "hparams")
#: Columns a writer may leave out, with the value they then hold: ``revision`` is the hub
#: revision of the checkpoint (``stepN`` for the PolyPythias), ``""`` when none was pinned.
COLUMN_DEFAULTS: dict[str, str] = {"revision": ""}
#: The default seed column: the bootstrap's outer resampling unit.
SEED_COLUMN = "pretrain_seed"
#: Run columns whose runs inside one seed are replicates of one procedure (averaged in the seed).
REPLICATE_COLUMNS: tuple[str, ...] = ("finetune_seed", "hparams")
#: Run columns that name the condition (procedure); a side is one condition.
CONDITION_COLUMNS: tuple[str, ...] = ("family", "checkpoint", "revision", "step", "task", "split",
                                      "method", "layer")
#: The per-example id column.
EXAMPLE_ID = "example_id"
#: Columns every tidy table must have.
REQUIRED_COLUMNS: tuple[str, ...] = (SEED_COLUMN, EXAMPLE_ID)


class TableError(InputError):
    """A predictions table that breaks the table contract (a ``ValueError``)."""


class TableTypeError(InputTypeError):
    """Something that is not a predictions table where one is expected (a ``TypeError``)."""


TableError.__module__ = TableTypeError.__module__ = "multiberts_stats.table"


def as_names(cols) -> list[str]:
    """A column name or a list of them (or None) as a list."""
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def run_label(keys: dict) -> str:
    """``{"pretrain_seed": 0, "layer": 3}`` -> ``"pretrain_seed=0, layer=3"`` (error messages)."""
    return ", ".join(f"{k}={v!r}" for k, v in keys.items())


def py_value(v):
    """numpy scalars as Python values (readable in messages)."""
    return v.item() if isinstance(v, np.generic) else v


def table_where(name: str, caller: str) -> str:
    """"the `base` table passed to multiboot" (error messages)."""
    return f"the `{name}` table passed to {caller}" if caller else f"the `{name}` table"


def run_key_columns(df, run_cols=None, seed_col=SEED_COLUMN) -> list[str]:
    """Columns that identify a run of ``df``: the seed column(s), then ``run_cols`` (default
    the :data:`RUN_COLUMNS` present)."""
    seeds = as_names(seed_col)
    if run_cols is None:
        run_cols = [c for c in RUN_COLUMNS if c in df.columns]
    return list(dict.fromkeys(seeds + as_names(run_cols)))
