"""Synthetic tidy tables with planted effects, for the analysis and plotting tests."""
from __future__ import annotations

import numpy as np
import pandas as pd


def tidy(correct: np.ndarray, labels: np.ndarray, *, seeds, step=2000, layer=None, task="sst2",
         method="probe", finetune_seeds=None, extra=None) -> pd.DataFrame:
    """Build a tidy table from a (runs, examples) 0/1 correctness matrix.

    Rows of ``correct`` are runs; ``seeds`` (len runs) their pretraining seeds.
    """
    correct = np.asarray(correct, bool)
    n_runs, n_ex = correct.shape
    labels = np.asarray(labels, float)
    pred = np.where(correct, labels[None, :], 1 - labels[None, :])
    ft = np.zeros(n_runs, int) if finetune_seeds is None else np.asarray(finetune_seeds)
    df = pd.DataFrame({
        "family": "synthetic",
        "checkpoint": np.repeat([f"seed_{s}-step_{step}" for s in seeds], n_ex),
        "pretrain_seed": np.repeat(np.asarray(seeds, "int64"), n_ex),
        "step": np.int64(step),
        "task": task,
        "split": "validation",
        "method": method,
        "layer": pd.array([layer] * (n_runs * n_ex), dtype="Int64"),
        "finetune_seed": np.repeat(ft.astype("int64"), n_ex),
        "hparams": "{}",
        "example_id": np.tile([f"ex{i:05d}" for i in range(n_ex)], n_runs),
        "label": np.tile(labels, n_runs),
        "prediction": pred.ravel().astype(float),
        "score": np.nan,
    })
    df["cluster"] = df["example_id"]
    if extra:
        for k, v in extra.items():
            df[k] = np.tile(np.asarray(v), n_runs)
    return df


def base_correct(rng, n_seeds=5, n_ex=600, acc=0.7, seed_sd=0.3, ex_sd=1.0):
    """(seeds, examples) correctness with seed and example effects (logit scale)."""
    a = rng.normal(0, ex_sd, n_ex)
    b = rng.normal(0, seed_sd, n_seeds)
    logit = np.log(acc / (1 - acc)) + a[None, :] + b[:, None]
    p = 1 / (1 + np.exp(-logit))
    return rng.random((n_seeds, n_ex)) < p


def improve(correct, rng, share):
    """Flip a share of the wrong predictions of each row to right."""
    out = correct.copy()
    share = np.broadcast_to(np.asarray(share, float), (correct.shape[0],))
    for i, s in enumerate(share):
        wrong = np.flatnonzero(~out[i])
        k = int(round(s * len(wrong)))
        if k:
            out[i, rng.choice(wrong, size=k, replace=False)] = True
    return out


def paired_tables(kind: str, seed=0, n_seeds=5, n_ex=600):
    """(base, expt) tables: kind 'artifact_only' (seed 0 only improves) or 'procedure'."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_ex).astype(float)
    c0 = base_correct(rng, n_seeds, n_ex)
    if kind == "artifact_only":
        share = np.zeros(n_seeds)
        share[0] = 0.6
    elif kind == "procedure":
        share = np.full(n_seeds, 0.35)
    elif kind == "null":
        share = np.zeros(n_seeds)
    else:
        raise ValueError(kind)
    c1 = improve(c0, rng, share)
    seeds = list(range(n_seeds))
    return (tidy(c0, labels, seeds=seeds, step=0), tidy(c1, labels, seeds=seeds, step=2000))


def steps_table(seed=0, n_seeds=4, n_ex=400, steps=(0, 20, 40, 200, 2000), layers=(0, 1),
                plateau_from=200):
    """Accuracy rising over steps and identical predictions from ``plateau_from`` on."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_ex).astype(float)
    frames = []
    seeds = list(range(n_seeds))
    for layer in layers:
        c = base_correct(rng, n_seeds, n_ex, acc=0.55)
        for st in steps:
            if st <= plateau_from:
                c = improve(c, rng, 0.3 + 0.1 * layer) if st > 0 else c
            frames.append(tidy(c, labels, seeds=seeds, step=st, layer=layer))
    return pd.concat(frames, ignore_index=True)
