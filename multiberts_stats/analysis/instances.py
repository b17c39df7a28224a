"""Instance-level agreement between seeds: who gets which example right, which examples flip
between seeds, and Cohen's kappa between the seeds' predictions
(``sklearn.metrics.cohen_kappa_score``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from multiberts_stats.errors import InputError, UndefinedMetricWarning

from .common import RUN_COLS, check_table
from .markdown import md_table, md_warnings

__all__ = ["Agreement", "agreement", "cohen_kappa"]


def cohen_kappa(a, b) -> float:
    """Cohen's kappa between two label vectors: ``sklearn.metrics.cohen_kappa_score``.

    Undefined (NaN, as sklearn) when the chance agreement is 1, e.g. two raters that both give
    one constant label; sklearn's warning about it is silenced here (:func:`agreement` reports
    undefined pairs with one :class:`~multiberts_stats.errors.UndefinedMetricWarning`).

    Examples
    --------
    >>> round(cohen_kappa([0, 1, 1, 0], [0, 1, 0, 0]), 3)
    0.5
    >>> cohen_kappa([1, 1, 1], [1, 1, 1])
    nan
    """
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's "single label" / undefined-kappa warnings
        return float(cohen_kappa_score(np.asarray(a), np.asarray(b)))


@dataclass
class Agreement:
    """Instance-level agreement between seeds (and runs).

    Attributes
    ----------
    per_example : DataFrame
        ``example_id``, ``label``, ``share_seeds_correct`` (mean over seeds of the share of the
        seed's runs that are right), ``share_runs_correct``, ``n_seeds``, ``n_runs``, ``flips``
        (the seeds' predictions are not all equal).
    n_examples, n_flipping : int
    kappa : DataFrame
        Pairwise Cohen's kappa between the seeds' predictions (seeds x seeds); NaN where
        undefined (both seeds predict one constant label).
    seed_sensitive : DataFrame
        Examples some seeds get right and others wrong, most contested first.
    """

    per_example: pd.DataFrame
    kappa: pd.DataFrame
    n_examples: int
    n_flipping: int
    seed_sensitive: pd.DataFrame
    warnings: list = field(default_factory=list)

    @property
    def share_flipping(self) -> float:
        return self.n_flipping / self.n_examples if self.n_examples else float("nan")

    @property
    def mean_kappa(self) -> float:
        """Mean of the defined off-diagonal kappas (NaN when none is defined)."""
        k = self.kappa.to_numpy()
        off = k[~np.eye(len(k), dtype=bool)]
        off = off[np.isfinite(off)]
        return float(np.mean(off)) if off.size else float("nan")

    def to_frame(self) -> pd.DataFrame:
        df = self.per_example.copy()
        df.attrs["warnings"] = list(self.warnings)
        return df

    def to_markdown(self, top: int = 10) -> str:
        out = [md_warnings(self.warnings)] if self.warnings else []
        out.append(f"{self.n_flipping} of {self.n_examples} examples "
                   f"({self.share_flipping:.1%}) get different predictions from different seeds; "
                   f"mean pairwise Cohen's kappa between seeds {self.mean_kappa:.3f}.\n")
        s = self.per_example["share_seeds_correct"]
        out.append(f"Examples every seed gets right: {int((s == 1).sum())}; none: "
                   f"{int((s == 0).sum())}; seed-sensitive: {len(self.seed_sensitive)}.\n")
        if len(self.seed_sensitive):
            out.append(f"Most seed-sensitive examples (top {top}):\n\n"
                       + md_table(self.seed_sensitive.head(top)) + "\n")
        return "\n".join(out)

    def plot(self, ax=None):
        from multiberts_stats.plotting import agreement_histogram

        return agreement_histogram(self, ax=ax)


def agreement(table, *, seed_col="pretrain_seed", run_cols=None, extra_cols=None) -> Agreement:
    """Per-example agreement between seeds: who gets what right, flips, Cohen's kappa.

    Parameters
    ----------
    table : DataFrame
        Tidy predictions of one condition (one task, method, layer, step): several seeds,
        possibly several runs (fine-tuning seeds) per seed, the same examples.
    seed_col : str
    run_cols : list of str, optional
        Columns identifying a run inside a seed; default the run columns present.
    extra_cols : list of str, optional
        Per-example columns to carry into ``per_example`` (e.g. ``["sentence"]``).

    Returns
    -------
    Agreement

    Warns
    -----
    UndefinedMetricWarning
        When kappa is undefined for some pairs of seeds (both predict one constant label).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame(dict(pretrain_seed=[0, 0, 1, 1], example_id=["a", "b", "a", "b"],
    ...                       label=[1, 0, 1, 0], prediction=[1, 0, 1, 1]))
    >>> a = agreement(t)
    >>> a.n_flipping, a.per_example.share_seeds_correct.tolist()
    (1, [1.0, 0.5])
    """
    func = "agreement"
    check_table(table, "table", func, seed_col)
    for c in ("label", "prediction"):
        if c not in table.columns:
            raise InputError(f"The `table` of {func} must have a {c!r} column. "
                             f"Got columns {list(table.columns)} instead.")
    for c in ("task", "method", "layer", "step", "split"):
        if c in table.columns and table[c].nunique(dropna=False) > 1:
            raise InputError(f"The `table` of {func} must hold one condition; select one {c} "
                             f"first. Got {c} values {sorted(map(str, table[c].unique()))}.")
    if run_cols is None:
        run_cols = [c for c in RUN_COLS if c in table.columns and c != seed_col]
    t = table.assign(_correct=(table["prediction"] == table["label"]).astype(float))
    seeds = sorted(pd.unique(t[seed_col]).tolist())
    if len(seeds) < 2:
        raise InputError(f"agreement needs at least two seeds in column {seed_col!r}. "
                         f"Got {seeds} instead.")
    per_seed = t.groupby([seed_col, "example_id"], sort=True)["_correct"].mean().unstack(seed_col)
    counts = t.groupby("example_id").agg(
        label=("label", "first"), share_runs_correct=("_correct", "mean"),
        n_runs=("_correct", "size"))
    # seed-level prediction: the most frequent prediction among the seed's runs (ties: smallest)
    mode = (t.groupby([seed_col, "example_id", "prediction"]).size().rename("n").reset_index()
            .sort_values(["n", "prediction"], ascending=[False, True])
            .drop_duplicates([seed_col, "example_id"])
            .pivot(index="example_id", columns=seed_col, values="prediction"))
    missing = int(mode.isna().sum().sum())
    warns = []
    if missing:
        warns.append(f"{missing} (seed, example) cells have no prediction; kappa uses the "
                     "examples every pair of seeds shares.")
    per = pd.DataFrame({
        "example_id": per_seed.index,
        "label": counts.loc[per_seed.index, "label"].to_numpy(),
        "share_seeds_correct": per_seed.mean(axis=1).to_numpy(),
        "share_runs_correct": counts.loc[per_seed.index, "share_runs_correct"].to_numpy(),
        "n_seeds": per_seed.notna().sum(axis=1).to_numpy(),
        "n_runs": counts.loc[per_seed.index, "n_runs"].to_numpy(),
        "flips": (mode.loc[per_seed.index].nunique(axis=1) > 1).to_numpy(),
    })
    if extra_cols:
        ex = table.drop_duplicates("example_id").set_index("example_id")[list(extra_cols)]
        per = per.join(ex, on="example_id")
    kap = np.ones((len(seeds), len(seeds)))
    undefined = []
    for i, a in enumerate(seeds):
        for j in range(i + 1, len(seeds)):
            b = seeds[j]
            both = mode[[a, b]].dropna()
            kap[i, j] = kap[j, i] = cohen_kappa(both[a].to_numpy(), both[b].to_numpy())
            if not np.isfinite(kap[i, j]):
                undefined.append((a, b))
    if undefined:
        msg = (f"Cohen's kappa is undefined (NaN) for {len(undefined)} pair(s) of seeds, e.g. "
               f"{undefined[:3]}: both seeds predict one constant label, so chance agreement is "
               "1. mean_kappa leaves them out.")
        warns.append(msg)
        warnings.warn(msg, UndefinedMetricWarning, stacklevel=2)
    kappa = pd.DataFrame(kap, index=pd.Index(seeds, name=seed_col),
                         columns=pd.Index(seeds, name=seed_col))
    s = per["share_seeds_correct"]
    sens = per[(s > 0) & (s < 1)].assign(_d=(s - 0.5).abs()).sort_values(
        ["_d", "example_id"]).drop(columns="_d").reset_index(drop=True)
    return Agreement(per_example=per, kappa=kappa, n_examples=len(per),
                     n_flipping=int(per["flips"].sum()), seed_sensitive=sens, warnings=warns)
