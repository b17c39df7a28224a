"""Zero-shot scoring with the masked-LM head (Winogender and any task that brings a scorer).

The task module owns the scoring rule (e.g. :func:`multiberts_stats.tasks.score_winogender`:
pseudo-log-likelihood of the sentence with the pronoun replaced by each candidate, batched);
the runner loads the checkpoint as a masked LM once per job, calls the scorer on every example
of the evaluation split and stores one row per example with the task's extra columns
(``gender``, ``occupation``, ``bls_pct_female`` for Winogender).
"""

from __future__ import annotations

import gc
import inspect

import numpy as np
import pandas as pd

from .probe import base_rows
from .resolve import load_model, resolve_task

__all__ = ["run_zeroshot", "ZEROSHOT_DEFAULTS"]

ZEROSHOT_DEFAULTS = {"batch_size": 32, "options": {}, "max_eval": None}
_AMP = {"bfloat16": "bf16", "float16": "fp16", "float32": None}


def _scorer(task):
    t = task.task
    for name in ("score", "scorer", "zeroshot", "score_zeroshot"):
        fn = getattr(t, name, None)
        if callable(fn):
            return fn
    if "winogender" in task.name.lower():
        from multiberts_stats import tasks as T

        fn = getattr(T, "score_winogender", None)
        if fn is None:
            from multiberts_stats.tasks import winogender as W
            fn = W.score_winogender
        return fn
    raise ValueError(f"The task {task.name!r} has no zero-shot scorer (a `score(model, tokenizer, "
                     f"examples)` method); zero-shot scoring needs one.")


def _call(fn, model, tok, examples, **kw):
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        kw = {k: v for k, v in kw.items() if k in params}
    return fn(model, tok, examples, **kw)


def run_zeroshot(job, *, store, quiet: bool = True):
    """Run one zero-shot job; returns (rows, provenance extras)."""
    s = {**ZEROSHOT_DEFAULTS, **job.settings}
    task = resolve_task(job.task)
    examples = task.load(job.eval_split)
    if s["max_eval"] is not None:
        from .probe import subsample
        examples = subsample(examples, int(s["max_eval"]), seed=0)
    scorer = _scorer(task)
    model, tok = load_model(job.checkpoint, "masked_lm", device=job.device)
    try:
        out = _call(scorer, model, tok, examples, batch_size=int(s["batch_size"]), device=job.device,
                    quiet=quiet, amp=_AMP[job.dtype], **dict(s["options"]))
    finally:
        del model
        gc.collect()
    if not isinstance(out, pd.DataFrame):
        out = pd.DataFrame(out)
    if "prediction" not in out.columns:
        raise ValueError(f"The zero-shot scorer of {task.name!r} must return a frame with a "
                         f"`prediction` column. Got columns {list(out.columns)}.")
    if "example_id" in out.columns:
        out = out.set_index(out["example_id"].astype(str))
        ids = examples["example_id"].astype(str)
        missing = sorted(set(ids) - set(out.index))
        if missing:
            raise ValueError(f"The zero-shot scorer of {task.name!r} returned no prediction for "
                             f"{len(missing)} examples, e.g. {missing[:3]}.")
        out = out.loc[ids.tolist()].reset_index(drop=True)
    elif len(out) != len(examples):
        raise ValueError(f"The zero-shot scorer of {task.name!r} returned {len(out)} rows for "
                         f"{len(examples)} examples.")
    rows = base_rows(job, examples, layer=None)
    rows["prediction"] = pd.to_numeric(out["prediction"]).astype(float).to_numpy()
    rows["score"] = (pd.to_numeric(out["score"]).astype(float).to_numpy() if "score" in out
                     else np.nan)
    if "label" in out.columns and examples["label"].isna().all():
        rows["label"] = pd.to_numeric(out["label"]).astype(float).to_numpy()
    text = set(task.text_columns)
    declared = set(task.extra_columns)
    for src, only in ((examples.reset_index(drop=True), declared), (out.reset_index(drop=True), None)):
        for c in src.columns:
            if c in rows.columns or c in text or c in ("example_id",):
                continue
            if only and c not in only:
                continue
            col = src[c]
            if col.map(lambda v: isinstance(v, (list, dict, tuple, np.ndarray))).any():
                continue
            rows[c] = col.to_numpy()
    return rows, {"n_examples": len(rows)}
