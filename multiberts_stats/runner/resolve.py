"""How the runner sees checkpoints and tasks.

Jobs carry plain, picklable *specs* (dicts) for their checkpoint and task; a worker turns them
into a model and a task here.  Checkpoint specs come from :mod:`multiberts_stats.checkpoints`
(families, hub ids, local folders); task specs name a task of :mod:`multiberts_stats.tasks`
(``{"name": "sst2", ...keyword arguments of get_task}``) or describe a file task.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["checkpoint_identity", "load_model", "resolve_task", "TaskView", "TableTask", "quiet_transformers"]


# ----------------------------------------------------------------------------- logging
@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' loading reports and warnings (they go to stderr otherwise)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging
        old = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            hf_logging.disable_progress_bar()
        except Exception:
            pass
    except Exception:  # transformers missing: nothing to silence
        hf_logging, old = None, None
    loggers = [logging.getLogger(n) for n in ("transformers", "huggingface_hub", "accelerate")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)
        if hf_logging is not None:
            hf_logging.set_verbosity(old)


# ----------------------------------------------------------------------------- checkpoints
def _fingerprint_folder(path: Path) -> dict:
    """A cheap identity of a local checkpoint folder: config hash, weight files' size and mtime."""
    info: dict[str, Any] = {"path": str(path.resolve())}
    try:
        cfg = path / "config.json"
        if cfg.exists():
            info["config_sha"] = hashlib.sha256(cfg.read_bytes()).hexdigest()[:16]
        for name in sorted(os.listdir(path)):
            if name.endswith((".safetensors", ".bin", ".h5", ".msgpack")):
                st = (path / name).stat()
                info[name] = [st.st_size, st.st_mtime_ns]
    except OSError:
        pass
    return info


def checkpoint_identity(spec: dict) -> dict:
    """What identifies a checkpoint's weights: hub id + revision, or a folder's fingerprint."""
    ident = {k: spec.get(k) for k in ("family", "checkpoint", "pretrain_seed", "step", "hub_id", "revision")}
    path = spec.get("path")
    if path:
        ident["folder"] = _fingerprint_folder(Path(path))
    return ident


def _checkpoint_object(spec: dict):
    """A :class:`multiberts_stats.checkpoints.Checkpoint` for a spec."""
    from multiberts_stats import checkpoints as C

    hub = spec.get("hub_id")
    step = int(spec.get("step", 0))
    return C.Checkpoint(family=str(spec.get("family") or "custom"), hub_id=hub,
                        path=None if hub else str(spec.get("path") or spec.get("checkpoint")),
                        seed=int(spec.get("pretrain_seed", 0)), step=step,
                        step_raw=int(spec.get("step_raw", step)), revision=spec.get("revision"))


def _local_tokenizer(path: str):
    from transformers import AutoTokenizer, BertTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path)
    except Exception:
        tok = BertTokenizer.from_pretrained(path)
    if not getattr(tok, "model_max_length", None) or tok.model_max_length > 100_000:
        tok.model_max_length = 512
    return tok


class CheckpointLoadError(RuntimeError):
    """A checkpoint that cannot be loaded (missing, corrupt, or mismatched weights)."""


def auto_threads(model) -> None:
    """Small models run faster on one thread (thread start-up and contention dominate)."""
    import torch

    from . import executors

    if executors.EXPLICIT_THREADS.get("value"):
        return
    hidden = getattr(getattr(model, "config", None), "hidden_size", 1024) or 1024
    if hidden < 256 and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def load_model(spec: dict, kind: str = "encoder", *, num_labels: int = 2, seed: int = 0,
               device: str = "cpu", dtype: str = "float32"):
    try:
        model, tok = _load_model(spec, kind, num_labels=num_labels, seed=seed, device=device, dtype=dtype)
    except Exception as e:
        where = spec.get("path") or spec.get("hub_id") or spec.get("checkpoint")
        raise CheckpointLoadError(f"Could not load the checkpoint {where!r} (family "
                                  f"{spec.get('family')!r}, seed {spec.get('pretrain_seed')}, step "
                                  f"{spec.get('step')}) as {kind}: {type(e).__name__}: {e}") from e
    auto_threads(model)
    return model, tok


def _load_model(spec: dict, kind: str = "encoder", *, num_labels: int = 2, seed: int = 0,
                device: str = "cpu", dtype: str = "float32"):
    """Load a checkpoint spec as ``kind`` in {"encoder", "masked_lm", "classifier"} -> (model, tokenizer).

    Uses the checkpoint catalog's loaders when available (hub ids, mirrors, caches); a local
    folder is loaded directly otherwise.  Loading reports are silenced; errors name the folder.
    """
    import torch

    path = spec.get("path") or spec.get("hub_id") or spec.get("checkpoint")
    with quiet_transformers():
        try:
            from multiberts_stats import checkpoints as C
        except ImportError:
            C = None
        if C is not None and hasattr(C, "load_encoder"):
            target = _checkpoint_object(spec)
            kw = {"device": device}
            if spec.get("checkpoint_root"):
                kw["checkpoint_root"] = spec["checkpoint_root"]
            if kind == "encoder":
                return C.load_encoder(target, **kw)
            if kind == "masked_lm":
                return C.load_masked_lm(target, **kw)
            return C.load_classifier(target, num_labels=num_labels, seed=seed, **kw)
        from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification

        if kind == "classifier":
            torch.manual_seed(seed)
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels)
        elif kind == "masked_lm":
            model = AutoModelForMaskedLM.from_pretrained(path)
        else:
            model = AutoModel.from_pretrained(path)
        return model.to(device).eval(), _local_tokenizer(path)


# ----------------------------------------------------------------------------- tasks
@dataclass
class TableTask:
    """A small task read from a CSV / TSV / JSONL file (used when no registry task fits).

    ``files`` maps split name -> file path.  Columns: ``text`` (one or two text columns),
    ``label``, optional ``id`` and ``cluster``.
    """

    name: str
    files: dict
    text: tuple = ("sentence",)
    label: str = "label"
    id: str | None = None
    cluster: str | None = None
    num_labels: int = 2
    level: str = "sentence"

    def __post_init__(self):
        if isinstance(self.text, str):
            self.text = (self.text,)
        self.text = tuple(self.text)

    @property
    def splits(self):
        return tuple(self.files)

    def load(self, split: str) -> pd.DataFrame:
        if split not in self.files:
            raise ValueError(f"The `split` parameter of task {self.name!r} must be one of "
                             f"{list(self.files)}. Got {split!r} instead.")
        path = Path(self.files[split])
        if path.suffix in (".jsonl", ".json"):
            df = pd.read_json(path, lines=True)
        else:
            df = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", quoting=3,
                             keep_default_na=False)
        missing = [c for c in (*self.text, self.label) if c not in df.columns]
        if missing:
            raise ValueError(f"The file {str(path)!r} of task {self.name!r} lacks the columns "
                             f"{missing}; it has {list(df.columns)}.")
        out = pd.DataFrame({c: df[c].astype(str) for c in self.text})
        out.insert(0, "example_id", df[self.id].astype(str) if self.id else
                   [f"{split}-{i}" for i in range(len(df))])
        out["label"] = pd.to_numeric(df[self.label]).astype(float)
        out["cluster"] = df[self.cluster].astype(str) if self.cluster else out["example_id"]
        return out


@dataclass
class TaskView:
    """What the runner needs to know of a task, whatever object defines it."""

    task: Any
    name: str
    text_columns: tuple
    num_labels: int
    level: str = "sentence"          # "sentence" | "token" | "zeroshot"
    splits: tuple = ()
    extra_columns: tuple = ()
    default_split: str | None = None

    def load(self, split: str) -> pd.DataFrame:
        return self.task.load(split)


def _get(obj, *names, default=None):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            v = getattr(obj, n)
            if v is not None:
                return v
    return default


def view_task(task) -> TaskView:
    name = _get(task, "name")
    text = _get(task, "text_columns", "text_fields", "text", default=("sentence",))
    if isinstance(text, str):
        text = (text,)
    labels = _get(task, "label_names", "labels", "label_space")
    num = _get(task, "num_labels")
    if num is None:
        if _get(task, "kind") == "regression":
            num = 1
        else:
            num = len(labels) if labels is not None else 2
    level = _get(task, "level", "kind", default="sentence")
    if str(level) in ("zero_shot", "zeroshot", "mlm"):
        level = "zeroshot"
    splits = tuple(_get(task, "splits", default=()) or ())
    extras = tuple(_get(task, "extra_columns", default=()) or ())
    return TaskView(task=task, name=str(name), text_columns=tuple(text), num_labels=int(num),
                    level=str(level), splits=splits, extra_columns=extras,
                    default_split=_get(task, "default_split"))


def resolve_task(spec) -> TaskView:
    """A task spec (registry name, keyword dict, file-task dict or task object) -> TaskView."""
    if isinstance(spec, TaskView):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if isinstance(spec, dict):
        spec = dict(spec)
        if "files" in spec:
            return view_task(TableTask(**spec))
        try:
            from multiberts_stats import tasks as T
        except ImportError as e:
            raise ImportError(f"The task {spec.get('name')!r} needs multiberts_stats.tasks, which "
                              f"is not installed: {e}") from e
        if "file" in spec or "path" in spec:
            return view_task(T.task_from_file(**spec))
        name = spec.pop("name")
        return view_task(T.get_task(name, **spec))
    return view_task(spec)


def spec_from_checkpoint(ckpt) -> dict:
    """A picklable checkpoint spec from a catalog :class:`~multiberts_stats.checkpoints.Checkpoint`."""
    if isinstance(ckpt, dict):
        return dict(ckpt)
    spec = {"family": str(ckpt.family), "checkpoint": str(ckpt.name),
            "pretrain_seed": int(ckpt.seed), "step": int(ckpt.step), "step_raw": int(ckpt.step_raw)}
    if ckpt.hub_id is not None:
        spec["hub_id"] = str(ckpt.hub_id)
    if ckpt.path is not None:
        spec["path"] = str(ckpt.path)
    if ckpt.revision:
        spec["revision"] = str(ckpt.revision)
    return spec
