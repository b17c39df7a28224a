"""Zero-shot scoring with the LM head (Winogender, minimal pairs and any task with a scorer).

Encoders are loaded with their masked-LM head, decoders (PolyPythias) with their causal-LM head;
tasks that score causal LMs (minimal pairs) say so with ``causal_scoring = True``.

The task module owns the scoring rule (e.g. :func:`multiberts_stats.tasks.score_winogender`:
pseudo-log-likelihood of the sentence with the pronoun replaced by each candidate, batched);
the runner loads the checkpoint as a masked LM once per job, calls the scorer on every example
of the evaluation split and stores one row per example with the task's extra columns
(``gender``, ``occupation``, ``bls_pct_female`` for Winogender).
"""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd

from .loading import load_model, resolve_task
from .rows import base_rows, subsample
from .settings import check_positive_int, setting_error

__all__ = ["run", "validate", "grid", "DEFAULTS"]

#: every setting of ``[methods.zeroshot]`` and its default (the one place they are defined)
DEFAULTS = {"batch_size": 32, "eval_split": None, "options": {}, "max_eval": None}
_AMP = {"bfloat16": "bf16", "float16": "fp16", "float32": None}


def validate(s: dict, where: str = "methods.zeroshot") -> dict:
    """Check complete zero-shot settings (defaults merged in)."""
    s = dict(s)
    check_positive_int(f"{where}.batch_size", s["batch_size"])
    check_positive_int(f"{where}.max_eval", s["max_eval"], allow_none=True)
    if not isinstance(s["options"], dict):
        raise setting_error(f"{where}.options", "must be a table of keyword arguments for the scorer",
                            s["options"])
    return s


def grid(s: dict) -> tuple[list[dict], dict]:
    return [{}], dict(s)


def run(job, ctx):
    """Run one zero-shot job with the task's own scorer; returns (rows, provenance extras)."""
    s = job.settings
    task = resolve_task(job.task)
    scorer = task.zeroshot_scorer()
    if scorer is None:
        raise ValueError(f"The task {task.name!r} has no zero-shot scorer (its zeroshot_scorer() "
                         "returns None); score it with the probe or finetune method instead.")
    examples = subsample(task.load(job.eval_split), s["max_eval"], seed=0)
    # the checkpoint's own LM head: a masked LM (encoders) or a causal LM (decoders); a task
    # whose scorer needs a masked LM refuses a decoder before it is loaded
    from multiberts_stats.checkpoints import checkpoint_is_causal

    if not getattr(task, "causal_scoring", False) and checkpoint_is_causal(
            job.checkpoint.to_catalog(), checkpoint_root=job.checkpoint.checkpoint_root):
        raise ValueError(f"The task {task.name!r} is scored zero-shot with a masked LM "
                         f"(pseudo-log-likelihood), and the checkpoint {job.checkpoint.where} is "
                         "a decoder (a causal LM without a masked-LM head). Score decoders on "
                         "tasks with causal scoring (minimal pairs: BLiMP, CrowS-Pairs, pair "
                         "files), or probe / fine-tune them.")
    model, tok = load_model(job.checkpoint, "lm", device=job.device,
                            auto_threads=not ctx.fixed_threads)
    try:
        out = scorer(model, tok, examples, batch_size=int(s["batch_size"]), device=job.device,
                     quiet=ctx.quiet, amp=_AMP[job.dtype], **dict(s["options"]))
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
    text = set(task.text_fields)
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
