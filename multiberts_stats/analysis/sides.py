"""The two sides of an analysis, parsed once and sliced per seed.

An analysis runs the Multi-Bootstrap many times on the same data (the procedure, one
examples-only call per seed, the two one-axis calls of the decomposition). :class:`SideRuns`
turns each side's tidy table into the engine's matrix form once and hands out per-seed slices
of those matrices, so the table is not parsed again for every call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from multiberts_stats.errors import InputError

from .common import RUN_COLS, seed_values

__all__ = ["SideRuns", "check_defined"]


class SideRuns:
    """``base`` and ``expt`` (or None) in the form handed to ``multiboot``, with their seeds."""

    def __init__(self, base, expt, seed_col: str, base_table: pd.DataFrame,
                 expt_table: pd.DataFrame | None):
        self.base, self.expt, self.seed_col = base, expt, seed_col
        self._tables = {"base": base_table, "expt": expt_table}
        self.base_seeds = seed_values(base_table, seed_col)
        self.expt_seeds = None if expt_table is None else seed_values(expt_table, seed_col)

    @classmethod
    def parse(cls, base: pd.DataFrame, expt: pd.DataFrame | None, kw: dict) -> SideRuns:
        """Both sides as the engine takes them; ``kw`` are the ``multiboot`` keyword arguments."""
        return cls(base, expt, kw.get("seed_col", "pretrain_seed"), base, expt)

    def seed_slice(self, base_seed, expt_seed) -> tuple:
        """(base, expt) restricted to one seed each (``None``: the whole side)."""
        col = self.seed_col
        b = self.base if base_seed is None else self.base[self.base[col] == base_seed]
        if self.expt is None:
            return b, None
        e = self.expt if expt_seed is None else self.expt[self.expt[col] == expt_seed]
        return b, e

    def check_defined(self, metric: str, func: str) -> None:
        """A clear error when ``metric`` is undefined (NaN) on a seed's full data."""
        for side, table in self._tables.items():
            if table is not None:
                check_defined(metric, table, side, self.seed_col, func)


def check_defined(metric: str, table: pd.DataFrame, side: str, seed_col: str, func: str):
    """A clear error when ``metric`` is undefined (NaN) on the full data of a seed of
    ``table`` (every run of it scored on all its examples)."""
    from multiberts_stats.metrics import compute_metric, get_metric

    spec = get_metric(metric)
    missing = [c for c in spec.columns if c not in table.columns]
    if missing:
        raise InputError(f"The metric {metric!r} of {func} needs the column(s) {missing}; the "
                         f"`{side}` table has {list(table.columns)}.")
    bad = {}
    for seed, g in table.groupby(seed_col, sort=True):
        runs = [c for c in RUN_COLS if c in g.columns and c != seed_col]
        groups = g.groupby(runs, dropna=False) if runs else [((), g)]
        vals = [compute_metric(metric, r) for _, r in groups]
        if any(not np.isfinite(v) for v in vals):
            bad[seed] = vals
    if bad:
        raise InputError(
            f"The metric {metric!r} of {func} is undefined (NaN) on the full data of seed(s) "
            f"{sorted(bad)} of the `{side}` table, e.g. a correlation of constant values "
            "(for winogender_bias_r: the predictions do not depend on the pronoun's gender, so "
            "every occupation's bias is the same). Pick a metric defined on every seed.")
