"""Choosing what to analyse: row filters (``step=2000,layer=3|4``), a store's table, the metric
and resampling cluster a task calls for, and the Winogender pronoun-preference recast.

Used by the report and by the ``compare`` / ``report`` commands.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataFileError, InputError

logger = logging.getLogger(__name__)

__all__ = [
    "check_metric_columns",
    "parse_filter",
    "pronoun_preference_table",
    "read_store_table",
    "select",
    "task_cluster",
    "task_metric",
]


def parse_filter(text: str, param: str = "--base") -> dict:
    """Parse ``"step=2000,task=sst2"`` into ``{"step": "2000", "task": "sst2"}``.

    A value may list alternatives with ``|``: ``layer=3|4``.

    Examples
    --------
    >>> parse_filter("step=2000,task=sst2")
    {'step': '2000', 'task': 'sst2'}
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"The `{param}` filter must look like 'column=value[,column=value...]'. "
                         f"Got {text!r} instead.")
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise InputError(f"The `{param}` filter must look like 'column=value[,column=value...]'."
                             f" Got the part {part!r} in {text!r} instead.")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _coerce(series: pd.Series, value: str):
    if pd.api.types.is_numeric_dtype(series.dtype):
        try:
            f = float(value)
            return int(f) if f.is_integer() else f
        except ValueError:
            raise InputError(f"Column {series.name!r} is numeric; the filter value {value!r} is "
                             "not a number.") from None
    return value


def select(table: pd.DataFrame, filt: dict, param: str = "--base") -> pd.DataFrame:
    """Rows of ``table`` whose columns equal the filter's values; errors say what exists.

    Examples
    --------
    >>> t = pd.DataFrame({"step": [0, 20, 20], "layer": [1, 1, 2]})
    >>> len(select(t, parse_filter("step=20,layer=1|2")))
    2
    """
    mask = pd.Series(True, index=table.index)
    for k, v in filt.items():
        if k not in table.columns:
            raise InputError(f"The `{param}` filter names column {k!r}, which the table does "
                             f"not have. Columns: {list(table.columns)}.")
        alts = [_coerce(table[k], x) for x in str(v).split("|")]
        if str(v).lower() in ("null", "none", "nan"):
            mask &= table[k].isna()
        else:
            mask &= table[k].isin(alts)
        if not mask.any():
            found = sorted(map(str, table.loc[table.index, k].dropna().unique()))[:20]
            raise InputError(f"The `{param}` filter {k}={v} selects no rows. Values of {k!r} in "
                             f"the store: {found}.")
    return table[mask]


def read_store_table(path) -> pd.DataFrame:
    """The tidy table of a store folder; a clear error when it is missing or has no rows."""
    p = Path(path)
    if not p.exists():
        raise DataFileError(f"The STORE argument must be an existing store folder. Got "
                            f"{str(p)!r}, which does not exist.")
    from multiberts_stats.store import Store, read_predictions

    table = read_predictions(p)
    if table is None or len(table) == 0:
        found = "no Parquet files"
        try:
            st = Store(p, create=False).status()
            found = (f"{len(st['done'])} done, {len(st['failed'])} failed, "
                     f"{len(st['running'])} running and {len(st['pending'])} pending jobs")
            if st.get("errors"):
                k, e = next(iter(st["errors"].items()))
                found += f"; e.g. job {k} failed with: {str(e)[:200]}"
        except Exception as e:  # noqa: BLE001 - only to enrich the message below
            logger.debug("status of %s unavailable: %s", p, e)
        raise InputError(f"The store {str(p)!r} has no finished jobs (no prediction rows): found "
                         f"{found}. Run the experiment (`multiberts-stats run`) or see "
                         "`multiberts-stats status STORE`.")
    return table


def task_metric(task: str, table: pd.DataFrame | None = None) -> str:
    """The metric a report uses for a task.

    The registry's Winogender bias correlation when the task has it (the MultiBERTs measure),
    otherwise the task's primary metric; a guess from the columns for unregistered tasks.

    Examples
    --------
    >>> task_metric("not-a-registered-task")
    'accuracy'
    """
    try:
        from multiberts_stats.tasks import get_task

        ms = list(getattr(get_task(task), "metrics", ()) or ())
        if "winogender_bias_r" in ms:
            return "winogender_bias_r"
        if ms:
            return ms[0]
    except Exception as e:  # noqa: BLE001 - an unregistered task: guess from the columns
        logger.debug("task %r not in the registry (%s); metric from the columns", task, e)
    if table is not None and {"gender", "occupation", "bls_pct_female"} <= set(table.columns):
        return "winogender_bias_r"
    return "accuracy"


def task_cluster(task: str, table: pd.DataFrame | None, metric: str) -> str | None:
    """The resampling cluster column: the tidy ``cluster`` column when it groups examples
    (Winogender occupations, the sentences of POS tokens), else the task's unit column."""
    if table is not None and "cluster" in table.columns and "example_id" in table.columns:
        c = table["cluster"].astype(str)
        if c.notna().all() and (c != table["example_id"].astype(str)).any():
            return "cluster"
    col = None
    try:
        from multiberts_stats.tasks import get_task

        col = getattr(get_task(task), "cluster_column", None)
    except Exception as e:  # noqa: BLE001 - an unregistered task has no cluster column
        logger.debug("task %r not in the registry (%s); no cluster column", task, e)
    if col is None and isinstance(metric, str) and metric.startswith("winogender"):
        col = "occupation"
    if col is not None and table is not None and col not in table.columns:
        return None
    return col


def check_metric_columns(metric: str, table: pd.DataFrame, where: str) -> None:
    """A clear error when ``table`` lacks (or has only missing values in) a column ``metric``
    reads, naming a metric the task has."""
    from multiberts_stats.metrics import get_metric

    spec = get_metric(metric)
    missing = [c for c in spec.columns if c not in table.columns or table[c].isna().all()]
    if missing:
        tasks = sorted(map(str, table["task"].unique())) if "task" in table.columns else []
        raise InputError(f"The metric {metric!r} needs the column(s) {missing}, which the "
                         f"{where} rows (task {tasks}) do not have. Pick a metric this task has, "
                         f"e.g. {task_metric(tasks[0], table) if tasks else 'accuracy'!r}.")


def pronoun_preference_table(table: pd.DataFrame) -> pd.DataFrame:
    """Winogender rows recast for the ``pearson`` metric: ``label`` = share of women in the
    occupation (BLS / 100), ``prediction`` = log p(she) − log p(he) in the pronoun slot.

    A gender-association measure defined for any masked LM (the paper's ``winogender_bias_r``
    needs coreference decisions that depend on the pronoun's gender).
    """
    missing = [c for c in ("p_female", "p_male", "bls_pct_female") if c not in table.columns]
    if missing:
        raise InputError(f"pronoun_preference_table needs the column(s) {missing} (zero-shot "
                         "Winogender scored with pronoun preferences). Got columns "
                         f"{list(table.columns)}.")
    out = table.copy()
    out["label"] = out["bls_pct_female"].astype(float) / 100.0
    with np.errstate(divide="ignore"):
        out["prediction"] = np.log(out["p_female"].astype(float)) - np.log(
            out["p_male"].astype(float))
    return out
