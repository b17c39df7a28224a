"""Fine-tuning: a sequence-classification model per checkpoint x fine-tuning seed x hyper-parameters.

Uses the ``transformers`` :class:`~transformers.Trainer`.  The fine-tuning seed governs the
classification head's initialisation (the global torch generator is seeded right before the
head is created), the order of the training data (``seed`` and ``data_seed`` of the training
arguments) and dropout (the Trainer seeds every generator before training).  After training,
every example of the evaluation split gets a prediction and a score (probability of class 1
for binary tasks, the value for regression).  The fine-tuned weights are saved under
``STORE/_weights/<job key>`` only when ``save_weights = true``.
"""

from __future__ import annotations

import gc
import itertools
import math
import tempfile
from pathlib import Path

import numpy as np

from .loading import load_model, resolve_task
from .rows import base_rows, subsample
from .settings import check_positive_int, parse_seeds, setting_error

__all__ = ["run", "validate", "grid", "DEFAULTS", "GRID_KEYS"]

#: every setting of ``[methods.finetune]`` and its default (the one place they are defined)
DEFAULTS = {"learning_rate": 2e-5, "epochs": 3, "batch_size": 32, "warmup": 0.1,
            "weight_decay": 0.01, "max_train": None, "max_eval": None, "max_length": 128,
            "seeds": None, "save_weights": False, "train_split": None, "eval_split": None,
            "eval_batch_size": 64}
#: settings that may be lists: each list is an axis of the hyper-parameter grid
GRID_KEYS = ("learning_rate", "epochs", "batch_size", "warmup", "weight_decay", "max_train")


def validate(s: dict, where: str = "methods.finetune") -> dict:
    """Check complete fine-tuning settings (defaults merged in); returns them normalised."""
    s = dict(s)
    if s["seeds"] is not None:
        s["seeds"] = parse_seeds(s["seeds"], f"{where}.seeds")
    for b in (s["batch_size"] if isinstance(s["batch_size"], list) else [s["batch_size"]]):
        check_positive_int(f"{where}.batch_size", b)
    for k, lo, hi in (("learning_rate", 0, 1), ("warmup", 0, 1), ("weight_decay", 0, 10)):
        vals = s[k] if isinstance(s[k], list) else [s[k]]
        if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v < hi
                           or (k == "learning_rate" and v <= 0) for v in vals):
            raise setting_error(f"{where}.{k}", f"must be a number in [{lo}, {hi}) or a list of them", s[k])
    vals = s["epochs"] if isinstance(s["epochs"], list) else [s["epochs"]]
    if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in vals):
        raise setting_error(f"{where}.epochs", "must be a positive number or a list of them", s["epochs"])
    for v in (s["max_train"] if isinstance(s["max_train"], list) else [s["max_train"]]):
        check_positive_int(f"{where}.max_train", v, allow_none=True)
    check_positive_int(f"{where}.max_eval", s["max_eval"], allow_none=True)
    check_positive_int(f"{where}.max_length", s["max_length"])
    check_positive_int(f"{where}.eval_batch_size", s["eval_batch_size"])
    if not isinstance(s["save_weights"], bool):
        raise setting_error(f"{where}.save_weights", "must be true or false", s["save_weights"])
    return s


def grid(s: dict) -> tuple[list[dict], dict]:
    """Every point of the hyper-parameter grid (lists in :data:`GRID_KEYS` are axes), and the
    settings that are not grid axes."""
    axes = [k for k in GRID_KEYS if isinstance(s.get(k), list)]
    points = []
    for point in itertools.product(*[s[k] for k in axes]):
        hp = {k: s[k] for k in GRID_KEYS}
        hp.update(zip(axes, point))
        points.append(hp)
    return points, {k: v for k, v in s.items() if k not in GRID_KEYS}


class _Encoded:
    """A list of tokenised examples, as a map-style dataset for the Trainer."""

    def __init__(self, enc: dict, labels=None):
        self.enc = enc
        self.labels = labels

    def __len__(self):
        return len(self.enc["input_ids"])

    def __getitem__(self, i):
        item = {k: v[i] for k, v in self.enc.items()}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


def _encode(tok, df, cols, max_length):
    return dict(tok(df[cols[0]].astype(str).tolist(),
                    df[cols[1]].astype(str).tolist() if len(cols) > 1 else None,
                    truncation=True, max_length=max_length, padding=False))


def run(job, ctx):
    """Run one fine-tuning job; returns (rows, provenance extras)."""
    import torch
    from transformers import (
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from multiberts_stats.checkpoints import quiet_transformers

    s = {**job.settings, **job.hparams}
    from multiberts_stats._progress import in_notebook, on_terminal

    store, quiet = ctx.store, ctx.quiet or not (on_terminal() or in_notebook())  # bars: watched only
    task = resolve_task(job.task)
    if task.level != "sentence":
        raise ValueError(f"Fine-tuning needs a sentence-level task; {task.name!r} is {task.level!r}.")
    train_df = subsample(task.load(job.train_split), s["max_train"], seed=0)
    eval_df = subsample(task.load(job.eval_split), s["max_eval"], seed=0)
    regression = task.label_space is None
    seed = int(job.seed)
    set_seed(seed)
    model, tok = load_model(job.checkpoint, "classifier", num_labels=task.num_outputs, seed=seed,
                            device=job.device, auto_threads=not ctx.fixed_threads)
    cols = task.text_fields
    ytr = train_df["label"].to_numpy(dtype=np.float32 if regression else np.int64)
    train_ds = _Encoded(_encode(tok, train_df, cols, s["max_length"]), ytr.tolist())
    eval_ds = _Encoded(_encode(tok, eval_df, cols, s["max_length"]))
    bs = int(s["batch_size"])
    steps = math.ceil(len(train_ds) / bs) * float(s["epochs"])
    with tempfile.TemporaryDirectory(prefix="mbs-ft-") as tmp, quiet_transformers():
        args = TrainingArguments(
            output_dir=tmp, seed=seed, data_seed=seed, learning_rate=float(s["learning_rate"]),
            num_train_epochs=float(s["epochs"]), per_device_train_batch_size=bs,
            per_device_eval_batch_size=int(s["eval_batch_size"]),
            warmup_steps=int(math.ceil(float(s["warmup"]) * steps)),
            weight_decay=float(s["weight_decay"]), report_to="none", save_strategy="no",
            eval_strategy="no", logging_strategy="no", disable_tqdm=quiet,
            use_cpu=not str(job.device).startswith("cuda"), bf16=job.dtype == "bfloat16",
            fp16=job.dtype == "float16", dataloader_num_workers=0, skip_memory_metrics=True)
        trainer = Trainer(model=model, args=args, train_dataset=train_ds,
                          data_collator=DataCollatorWithPadding(tok))
        if quiet:
            from transformers.trainer_callback import PrinterCallback, ProgressCallback

            trainer.remove_callback(PrinterCallback)
            trainer.remove_callback(ProgressCallback)
        result = trainer.train()
        logits = trainer.predict(eval_ds).predictions
        if isinstance(logits, tuple):
            logits = logits[0]
        logits = np.asarray(logits, dtype=np.float64)
        weights = None
        if s["save_weights"]:
            weights = Path(store.path) / "_weights" / job.key
            trainer.save_model(str(weights))
            tok.save_pretrained(str(weights))
    rows = base_rows(job, eval_df, layer=None)
    if regression:
        rows["prediction"] = logits[:, 0]
        rows["score"] = logits[:, 0]
    else:
        z = logits - logits.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        rows["prediction"] = p.argmax(1).astype(float)
        rows["score"] = p[:, 1] if p.shape[1] == 2 else np.nan
    info = {"train_loss": float(result.training_loss), "steps": int(result.global_step),
            "train_runtime_s": float(result.metrics.get("train_runtime", np.nan)),
            "n_train": len(train_ds), "weights": str(weights) if weights else None,
            "torch_threads": torch.get_num_threads()}
    del trainer, model
    gc.collect()
    return rows, info
