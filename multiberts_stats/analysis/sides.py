"""The two sides of an analysis, parsed once and sliced per seed.

An analysis runs the Multi-Bootstrap many times on the same data (the procedure, one
examples-only call per seed, the two one-axis calls of the decomposition). :class:`SideRuns`
turns each side's tidy table into the engine's matrix form once, through the one conversion
of :func:`multiberts_stats.table.to_matrix_runs`, and hands out per-seed slices of those
matrices (:meth:`multiberts_stats.table.MatrixRuns.subset`), so the table is not parsed again
for every call. The matrices are the ones ``multiboot`` would build from the table itself
(same run and example order), so the draws are the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from multiberts_stats.errors import InputError
from multiberts_stats.table import MatrixRuns, to_matrix_runs

__all__ = ["SideRuns", "check_defined", "metric_columns", "parse_side"]


def metric_columns(metric, cluster_col=None) -> tuple[list[str], list[str]]:
    """``(per-run columns, per-example columns)`` of the tidy table that ``metric`` (and the
    cluster resampling) reads, as the registry (:mod:`multiberts_stats.metrics`) says.

    Examples
    --------
    >>> metric_columns("accuracy")
    (['prediction'], ['label'])
    >>> metric_columns(lambda y_true, y_pred: 0.0, "occupation")
    (['prediction'], ['label', 'occupation'])
    """
    from multiberts_stats.metrics import get_metric, metric_for_callable

    if isinstance(metric, str):
        spec = get_metric(metric)
    else:  # a callable(y_true, y_pred): its registry entry, if it has one
        match = metric_for_callable(metric)
        spec = None if match is None else match.metric
    run = list(spec.run_columns) if spec is not None else ["prediction"]
    ex = list(spec.example_columns) if spec is not None else ["label"]
    if cluster_col is not None and cluster_col not in ex:
        ex.append(cluster_col)
    return run, ex


def parse_side(df: pd.DataFrame, *, metric, seed_col="pretrain_seed", run_cols=None,
               cluster_col=None, side: str = "base", caller: str = "the analysis") -> MatrixRuns:
    """One side's tidy table as a :class:`~multiberts_stats.table.MatrixRuns` holding what
    ``metric`` reads (:func:`metric_columns`): the same matrices ``multiboot`` builds from the
    table itself."""
    run, ex = metric_columns(metric, cluster_col)
    value = "prediction" if "prediction" in run else None
    label = "label" if "label" in ex else None
    return to_matrix_runs(df, seed_col=seed_col, run_cols=run_cols, value=value, label=label,
                          run_values=[c for c in run if c != value],
                          example_values=[c for c in ex if c != label], side=side,
                          caller=caller)


class SideRuns:
    """``base`` and ``expt`` (or None) as :class:`MatrixRuns`, parsed once, with their seeds.

    Examples
    --------
    >>> t = pd.DataFrame({"pretrain_seed": [0, 0, 1, 1], "example_id": ["a", "b"] * 2,
    ...                   "label": [1, 0, 1, 0], "prediction": [1, 1, 1, 0]})
    >>> sides = SideRuns.parse(t, None, {"metric": "accuracy"})
    >>> sides.base_seeds, sides.seed_slice(1, None)[0].preds.tolist()
    ([0, 1], [[1, 0]])
    """

    def __init__(self, base: MatrixRuns, expt: MatrixRuns | None, seed_col: str, metric):
        self.base, self.expt, self.seed_col, self.metric = base, expt, seed_col, metric
        self.base_seeds = base.seeds(seed_col)
        self.expt_seeds = None if expt is None else expt.seeds(seed_col)

    @classmethod
    def parse(cls, base: pd.DataFrame, expt: pd.DataFrame | None, kw: dict,
              caller: str = "the analysis") -> SideRuns:
        """Both sides as matrices; ``kw`` are the ``multiboot`` keyword arguments (``metric``,
        ``seed_col``, ``run_cols``, ``cluster_col`` are read)."""
        seed_col = kw.get("seed_col", "pretrain_seed")
        opts = {"metric": kw.get("metric", "accuracy"), "seed_col": seed_col,
                "run_cols": kw.get("run_cols"), "cluster_col": kw.get("cluster_col"),
                "caller": caller}
        b = parse_side(base, side="base", **opts)
        e = None if expt is None else parse_side(expt, side="expt", **opts)
        return cls(b, e, seed_col, opts["metric"])

    def seed_slice(self, base_seed, expt_seed) -> tuple:
        """(base, expt) restricted to one seed each (``None``: the whole side)."""
        col = self.seed_col
        b = self.base if base_seed is None else self.base.subset(seeds=[base_seed], seed_col=col)
        if self.expt is None:
            return b, None
        e = self.expt if expt_seed is None else self.expt.subset(seeds=[expt_seed], seed_col=col)
        return b, e

    def check_defined(self, metric: str, func: str) -> None:
        """A clear error when ``metric`` is undefined (NaN) on a seed's full data."""
        for side, m in (("base", self.base), ("expt", self.expt)):
            if m is not None:
                _check_runs_defined(metric, m, side, self.seed_col, func)


def _undefined_error(metric, bad, side, func):
    return InputError(
        f"The metric {metric!r} of {func} is undefined (NaN) on the full data of seed(s) "
        f"{sorted(bad)} of the `{side}` table, e.g. a correlation of constant values "
        "(for winogender_bias_r: the predictions do not depend on the pronoun's gender, so "
        "every occupation's bias is the same). Pick a metric defined on every seed.")


def _check_runs_defined(metric: str, m: MatrixRuns, side: str, seed_col: str, func: str):
    """Each run's metric on all its examples, from the matrices."""
    from multiberts_stats.metrics import compute_metric, get_metric

    cols = list(get_metric(metric).columns)
    per_run = set(metric_columns(metric)[0])
    seeds = m.seed_values(seed_col)
    bad = set()
    for i in range(m.n_runs):
        row = {c: (m.matrix(c)[i] if c in per_run else m.example_column(c)) for c in cols}
        if not np.isfinite(compute_metric(metric, row)):
            bad.add(seeds[i].item() if hasattr(seeds[i], "item") else seeds[i])
    if bad:
        raise _undefined_error(metric, bad, side, func)


def check_defined(metric: str, table: pd.DataFrame, side: str, seed_col: str, func: str):
    """A clear error when ``metric`` is undefined (NaN) on the full data of a seed of
    ``table`` (every run of it scored on all its examples)."""
    from multiberts_stats.metrics import get_metric

    spec = get_metric(metric)
    missing = [c for c in spec.columns if c not in table.columns]
    if missing:
        raise InputError(f"The metric {metric!r} of {func} needs the column(s) {missing}; the "
                         f"`{side}` table has {list(table.columns)}.")
    m = parse_side(table, metric=metric, seed_col=seed_col, side=side, caller=func)
    _check_runs_defined(metric, m, side, seed_col, func)
