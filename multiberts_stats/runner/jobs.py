"""Jobs: one unit of work (checkpoint x task x method setting x seed) and its key.

A job is a small picklable dataclass of plain specs, so it travels to process-pool and Dask
workers as is.  Its key hashes everything that determines its rows: the checkpoint's identity
(hub id and revision, or the folder with its config hash and weight files' size and mtime), the
task spec, the splits, the method with its settings and version, the seed, the hyper-parameters
and the precision.  The device is not part of the key (CPU and GPU runs of one job are the same
job).  An unchanged job is therefore never recomputed and a changed one always is.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from multiberts_stats.store import canonical_json

__all__ = ["Job", "METHOD_VERSIONS", "job_key"]

#: Bumped when a method's code changes what it computes (changes every key of that method).
METHOD_VERSIONS = {"probe": 1, "finetune": 1, "zeroshot": 1}


def _task_identity(spec) -> Any:
    if isinstance(spec, (str, dict)):
        return spec
    from .resolve import TaskView

    name = getattr(spec, "name", None)
    task = spec.task if isinstance(spec, TaskView) else spec
    try:
        from dataclasses import is_dataclass
        if is_dataclass(task):
            return {"name": name, "object": asdict(task)}
    except TypeError:
        pass
    return {"name": name, "object": repr(task)}


@dataclass
class Job:
    """One job of an experiment grid (picklable).

    Attributes
    ----------
    checkpoint : dict
        ``family``, ``checkpoint`` (the table's name for it), ``pretrain_seed``, ``step``, and
        ``path`` (a local folder) or ``hub_id`` (+ ``revision``).
    task : str, dict or task object
        Registry name, keyword dict for ``get_task``, or a file-task description.
    method : {"probe", "finetune", "zeroshot"}
    settings : dict
        The method's settings that are not a grid axis (pooling, layers, batch size...).
    seed : int
        The fine-tuning / probe seed (``finetune_seed`` in the table; 0 for zero-shot).
    hparams : dict
        The grid point (learning rate, epochs...) stored canonically in the ``hparams`` column.
    """

    checkpoint: dict
    task: Any
    task_name: str
    method: str
    eval_split: str
    train_split: str | None = None
    settings: dict = field(default_factory=dict)
    seed: int = 0
    hparams: dict = field(default_factory=dict)
    store: str = ""
    device: str = "cpu"
    dtype: str = "float32"
    experiment: str = "experiment"
    config: dict = field(default_factory=dict)
    _key: str | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = job_key(self)
        return self._key

    def describe(self) -> dict:
        """A short JSON-able description (for status, failures and provenance)."""
        return {"key": self.key, "checkpoint": self.checkpoint.get("checkpoint"),
                "family": self.checkpoint.get("family"),
                "pretrain_seed": self.checkpoint.get("pretrain_seed"),
                "step": self.checkpoint.get("step"), "task": self.task_name,
                "method": self.method, "eval_split": self.eval_split,
                "train_split": self.train_split, "seed": self.seed, "hparams": self.hparams,
                "settings": self.settings, "dtype": self.dtype, "device": self.device,
                "experiment": self.experiment}

    def label(self) -> str:
        c = self.checkpoint
        hp = canonical_json(self.hparams) if self.hparams else ""
        return (f"{self.method} {self.task_name} {c.get('family')}:seed{c.get('pretrain_seed')}"
                f"/step{c.get('step')} s{self.seed} {hp}").strip()


def job_key(job: Job) -> str:
    """The job's key: a hash of everything that determines its rows."""
    from .resolve import checkpoint_identity

    ident = {"checkpoint": checkpoint_identity(job.checkpoint), "task": _task_identity(job.task),
             "task_name": job.task_name, "method": job.method,
             "method_version": METHOD_VERSIONS.get(job.method, 0), "eval_split": job.eval_split,
             "train_split": job.train_split, "settings": job.settings, "seed": int(job.seed),
             "hparams": job.hparams, "dtype": job.dtype}
    return hashlib.sha256(canonical_json(ident).encode()).hexdigest()[:24]
