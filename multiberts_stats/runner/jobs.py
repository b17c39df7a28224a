"""Jobs: one unit of work (checkpoint x task x method setting x seed) and its key.

A job is a small frozen, picklable dataclass of plain specs, so it travels to process-pool and
Dask workers as is.  Its checkpoint is a frozen :class:`CheckpointSpec`.  Its key hashes
everything that determines its rows: the checkpoint's identity (hub id and revision, or the
folder with its config hash and weight files' size and mtime), the task spec, the splits, the
method with its settings and version, the seed, the hyper-parameters and the precision.  The
device is not part of the key (CPU and GPU runs of one job are the same job).  An unchanged job
is therefore never recomputed and a changed one always is.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multiberts_stats.store import canonical_json

__all__ = ["Job", "CheckpointSpec", "job_key", "task_identity"]


@dataclass(frozen=True)
class CheckpointSpec:
    """The frozen description of one checkpoint a job runs on.

    Attributes
    ----------
    family : str
        The ``family`` column.
    name : str
        The ``checkpoint`` column (the hub id, the folder, or the name the experiment gave it).
    seed, step : int
        The ``pretrain_seed`` and ``step`` columns.
    step_raw : int
        Optimiser steps (as :class:`multiberts_stats.checkpoints.Checkpoint`).
    hub_id, revision, path : str or None
        Where it comes from: a hub id (optionally at a revision) or a local folder.
    checkpoint_root : str or None
        A local mirror root to look in first (hub checkpoints).
    """

    family: str
    name: str
    seed: int
    step: int
    step_raw: int | None = None
    hub_id: str | None = None
    revision: str | None = None
    path: str | None = None
    checkpoint_root: str | None = None

    def __post_init__(self):
        if (self.hub_id is None) == (self.path is None):
            raise ValueError(f"A CheckpointSpec needs exactly one of `hub_id` and `path`. Got "
                             f"hub_id={self.hub_id!r} and path={self.path!r} instead.")
        if self.step_raw is None:
            object.__setattr__(self, "step_raw", int(self.step))
        self.to_catalog()  # the catalog's checks: hub id / revision shapes, labels

    @classmethod
    def from_catalog(cls, ckpt, *, name: str | None = None,
                     checkpoint_root: str | None = None) -> "CheckpointSpec":
        """The spec of a catalog :class:`~multiberts_stats.checkpoints.Checkpoint`."""
        return cls(family=str(ckpt.family), name=str(name or ckpt.name), seed=int(ckpt.seed),
                   step=int(ckpt.step), step_raw=int(ckpt.step_raw), hub_id=ckpt.hub_id,
                   revision=ckpt.revision, path=ckpt.path, checkpoint_root=checkpoint_root)

    def to_catalog(self):
        """The catalog :class:`~multiberts_stats.checkpoints.Checkpoint` the loaders take."""
        from multiberts_stats.checkpoints import Checkpoint

        return Checkpoint(family=self.family, hub_id=self.hub_id, path=self.path, seed=self.seed,
                          step=self.step, step_raw=int(self.step_raw or self.step),
                          revision=self.revision)

    def replace(self, **changes) -> "CheckpointSpec":
        return dataclasses.replace(self, **changes)

    @property
    def where(self) -> str:
        """The folder or hub id (for messages)."""
        return self.path or f"{self.hub_id}" + (f"@{self.revision}" if self.revision else "")

    def identity(self) -> dict:
        """What identifies the weights: hub id + revision, or the folder's fingerprint."""
        ident = {"family": self.family, "checkpoint": self.name, "pretrain_seed": self.seed,
                 "step": self.step, "hub_id": self.hub_id, "revision": self.revision}
        if self.path:
            ident["folder"] = _fingerprint_folder(Path(self.path))
        return ident


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


def task_identity(spec) -> Any:
    """The part of a job key that names its task: the spec itself (a registry name or a dict),
    or a task object's fields."""
    if isinstance(spec, (str, dict)):
        return spec
    if dataclasses.is_dataclass(spec):
        return {"name": spec.name, "object": dataclasses.asdict(spec)}
    return {"name": getattr(spec, "name", None), "object": repr(spec)}


@dataclass(frozen=True)
class Job:
    """One job of an experiment grid (frozen, picklable).

    Attributes
    ----------
    checkpoint : CheckpointSpec
    task : str, dict or Task
        A registry name, a keyword dict for ``get_task``, a file-task config (the keyword
        arguments of :func:`multiberts_stats.tasks.task_from_config`), or a task object.
    task_name : str
    method : str
        A name of :data:`multiberts_stats.runner.methods.METHODS`.
    eval_split, train_split : str
    settings : dict
        The method's validated settings that are not a grid axis.
    seed : int
        The fine-tuning / probe seed (``finetune_seed`` in the table; 0 for zero-shot).
    hparams : dict
        The grid point (learning rate, epochs...) stored canonically in the ``hparams`` column.
    store, device, dtype, experiment, config
        Where the rows go, the hardware, and the experiment's name and config (provenance).
    method_version : int
        The method's version (bumped when its code changes what it computes).
    """

    checkpoint: CheckpointSpec
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
    config: dict = field(default_factory=dict, repr=False)
    method_version: int = 1

    @functools.cached_property
    def key(self) -> str:
        return job_key(self)

    def describe(self) -> dict:
        """A short JSON-able description (for status, failures and provenance)."""
        c = self.checkpoint
        return {"key": self.key, "checkpoint": c.name, "family": c.family,
                "pretrain_seed": c.seed, "step": c.step, "task": self.task_name,
                "method": self.method, "eval_split": self.eval_split,
                "train_split": self.train_split, "seed": self.seed, "hparams": self.hparams,
                "settings": self.settings, "dtype": self.dtype, "device": self.device,
                "experiment": self.experiment}

    def inputs_fingerprint(self) -> dict:
        """Size and modification time of the task's data files (a file task's ``paths``).

        Not part of the job key (an edited file must not leave its old rows beside new ones);
        recorded with an input failure, so a failed job is tried again once its data change.
        """
        spec = self.task
        paths = spec.get("paths") if isinstance(spec, dict) else getattr(spec, "paths", None)
        out: dict[str, Any] = {}
        for split, path in sorted((paths or {}).items()):
            try:
                st = os.stat(path)
                out[str(split)] = [st.st_size, st.st_mtime_ns]
            except (OSError, TypeError):
                out[str(split)] = None
        return out

    def label(self) -> str:
        c = self.checkpoint
        hp = canonical_json(self.hparams) if self.hparams else ""
        return (f"{self.method} {self.task_name} {c.family}:seed{c.seed}/step{c.step} "
                f"s{self.seed} {hp}").strip()


def job_key(job: Job) -> str:
    """The job's key: a hash of everything that determines its rows."""
    ident = {"checkpoint": job.checkpoint.identity(), "task": task_identity(job.task),
             "task_name": job.task_name, "method": job.method,
             "method_version": int(job.method_version), "eval_split": job.eval_split,
             "train_split": job.train_split, "settings": job.settings, "seed": int(job.seed),
             "hparams": job.hparams, "dtype": job.dtype}
    return hashlib.sha256(canonical_json(ident).encode()).hexdigest()[:24]
