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

Modules: ``schema`` (columns, dtypes, error classes), ``matrix`` (:class:`MatrixRuns`),
``convert`` (:func:`to_matrix_runs`, :func:`check_one_condition`), ``validate``
(:func:`validate_table`), ``codes`` (the vectorised column coding they share). Import the names
from ``multiberts_stats.table``.

Importing this package imports numpy only; pandas is imported by the functions that need it.

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

from .convert import check_one_condition, to_matrix_runs
from .matrix import MatrixRuns
from .schema import (COLUMN_DEFAULTS, COLUMNS, CONDITION_COLUMNS, EXAMPLE_ID, REPLICATE_COLUMNS, REQUIRED_COLUMNS,
                     RUN_COLUMNS, SEED_COLUMN, TableError, TableTypeError, run_key_columns)
from .validate import validate_table

__all__ = [
    "COLUMN_DEFAULTS", "COLUMNS", "CONDITION_COLUMNS", "EXAMPLE_ID", "REPLICATE_COLUMNS", "REQUIRED_COLUMNS",
    "RUN_COLUMNS", "SEED_COLUMN", "MatrixRuns", "TableError", "TableTypeError",
    "check_one_condition", "run_key_columns", "to_matrix_runs", "validate_table",
]
