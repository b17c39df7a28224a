"""What every method shares: the rows of the tidy table for a job, subsampling, the context a
method runs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from multiberts_stats.store import canonical_json

__all__ = ["RunContext", "base_rows", "subsample", "holdout", "train_eval_frames"]


@dataclass(frozen=True)
class RunContext:
    """What a method's ``run(job, ctx)`` gets besides the job.

    Attributes
    ----------
    store : multiberts_stats.store.Store
        The store (its ``features_dir`` caches frozen-layer features).
    quiet : bool
        No progress bars.
    fixed_threads : bool
        The user fixed the torch thread count (small models then keep it).
    """

    store: Any
    quiet: bool = True
    fixed_threads: bool = False


def subsample(df: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """At most ``n`` rows, drawn without replacement by a fixed seed (order of the file kept).

    Examples
    --------
    >>> subsample(pd.DataFrame({"a": range(10)}), 3)["a"].tolist()
    [5, 6, 9]
    """
    if n is None or len(df) <= n:
        return df
    idx = np.sort(np.random.default_rng(seed).choice(len(df), size=int(n), replace=False))
    return df.iloc[idx].reset_index(drop=True)


def holdout(df: pd.DataFrame, part: str) -> pd.DataFrame:
    """Half of a split's examples (a fixed shuffle), when training and evaluation share a split."""
    idx = np.random.default_rng(0).permutation(len(df))
    half = len(df) // 2
    keep = np.sort(idx[:half] if part == "train" else idx[half:])
    return df.iloc[keep].reset_index(drop=True)


def train_eval_frames(job, task, max_train, max_eval) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and evaluation examples of a job (halves of one split when they coincide)."""
    if job.train_split == job.eval_split:
        full = task.load(job.eval_split)
        return (subsample(holdout(full, "train"), max_train, seed=0),
                subsample(holdout(full, "eval"), max_eval, seed=0))
    return (subsample(task.load(job.train_split), max_train, seed=0),
            subsample(task.load(job.eval_split), max_eval, seed=0))


def base_rows(job, eval_df: pd.DataFrame, *, layer=None) -> pd.DataFrame:
    """The run and example columns of the tidy table for one job (prediction and score NaN)."""
    c = job.checkpoint
    n = len(eval_df)
    return pd.DataFrame({
        "family": [str(c.family)] * n, "checkpoint": [str(c.name)] * n,
        "revision": [str(c.revision or "")] * n, "pretrain_seed": np.full(n, int(c.seed), dtype=np.int64),
        "step": np.full(n, int(c.step), dtype=np.int64),
        "task": [job.task_name] * n, "split": [job.eval_split] * n, "method": [job.method] * n,
        "layer": pd.array([layer] * n, dtype="Int64"),
        "finetune_seed": np.full(n, int(job.seed), dtype=np.int64),
        "hparams": [canonical_json(job.hparams)] * n,
        "example_id": eval_df["example_id"].astype(str).to_numpy(),
        "label": pd.to_numeric(eval_df["label"]).astype(float).to_numpy(),
        "prediction": np.full(n, np.nan), "score": np.full(n, np.nan),
        "cluster": (eval_df["cluster"].astype(str).to_numpy() if "cluster" in eval_df
                    else eval_df["example_id"].astype(str).to_numpy()),
    })
