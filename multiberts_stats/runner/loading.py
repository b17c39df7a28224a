"""How a worker turns a job's specs into a model and a task.

A job carries a frozen :class:`~multiberts_stats.runner.jobs.CheckpointSpec` and a task spec;
the worker loads the checkpoint with the catalog's loaders
(:func:`multiberts_stats.checkpoints.load_encoder` / ``load_masked_lm`` / ``load_classifier``,
whose :class:`~multiberts_stats.checkpoints.CheckpointLoadError` names the folder) and the task
with the task registry (:func:`~multiberts_stats.tasks.get_task`) or the one file reader
(:func:`~multiberts_stats.tasks.task_from_config`).
"""

from __future__ import annotations

from multiberts_stats.errors import EnvironmentFailure, InputTypeError

from .jobs import CheckpointSpec

__all__ = ["load_model", "resolve_task", "check_device_available", "KINDS"]

#: ``"lm"`` is the checkpoint's own language-model head: masked LM (encoders) or causal LM
#: (decoders), read from its config
KINDS = ("encoder", "masked_lm", "causal_lm", "lm", "classifier")


def check_device_available(device: str) -> None:
    """Refuse a device this machine does not have, as an environment failure (retried on the
    next run), before any checkpoint is blamed for it."""
    import torch

    dev = str(device)
    if dev.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EnvironmentFailure(f"The device {dev!r} is not available on this machine (torch "
                                     "sees no CUDA device); run with --device cpu or on a GPU host.")
        index = int(dev.split(":")[1]) if ":" in dev else 0
        if index >= torch.cuda.device_count():
            raise EnvironmentFailure(f"The device {dev!r} is not available: this machine has "
                                     f"{torch.cuda.device_count()} CUDA device(s).")
    elif dev == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise EnvironmentFailure("The device 'mps' is not available on this machine.")


def _auto_threads(model) -> None:
    """Small models run faster on one thread (thread start-up and contention dominate)."""
    import torch

    hidden = getattr(getattr(model, "config", None), "hidden_size", 1024) or 1024
    if hidden < 256 and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def load_model(spec: CheckpointSpec, kind: str = "encoder", *, num_labels: int = 2, seed: int = 0,
               device: str = "cpu", auto_threads: bool = True):
    """Load a checkpoint spec as ``kind`` in {"encoder", "masked_lm", "classifier"} -> (model,
    tokenizer).

    ``auto_threads`` drops small models to one torch thread (unless the user fixed the thread
    count). Errors are the catalog's: ``CheckpointNotFoundError`` / ``CheckpointLoadError``
    naming the folder or hub id; an unavailable device is an :class:`EnvironmentFailure`.
    """
    from multiberts_stats import checkpoints as C

    if not isinstance(spec, CheckpointSpec):
        raise InputTypeError(f"The `spec` parameter of load_model must be a CheckpointSpec. Got "
                             f"{type(spec).__name__} instead.")
    if kind not in KINDS:
        raise ValueError(f"The `kind` parameter of load_model must be one of {KINDS}. Got {kind!r} "
                         "instead.")
    check_device_available(device)
    target = spec.to_catalog()
    kw = {"device": device, "checkpoint_root": spec.checkpoint_root}
    if kind == "lm":
        kind = "causal_lm" if C.checkpoint_is_causal(target, checkpoint_root=spec.checkpoint_root) \
            else "masked_lm"
    if kind == "encoder":
        model, tok = C.load_encoder(target, **kw)
    elif kind == "masked_lm":
        model, tok = C.load_masked_lm(target, **kw)
    elif kind == "causal_lm":
        model, tok = C.load_causal_lm(target, **kw)
    else:
        model, tok = C.load_classifier(target, num_labels=num_labels, seed=seed, **kw)
    if auto_threads:
        _auto_threads(model)
    return model, tok


def resolve_task(spec):
    """A job's task spec -> a task object (:class:`multiberts_stats.tasks.TaskLike`).

    ``spec`` is a registry name (``"sst2"``), a dict ``{"name": ..., **attributes}`` for
    :func:`~multiberts_stats.tasks.get_task` (e.g. ``data_dir``), a file-task config (a dict with
    ``paths``: the keyword arguments of :func:`~multiberts_stats.tasks.task_from_config`), or a
    task object.
    """
    from multiberts_stats import tasks as T

    if isinstance(spec, str):
        return T.get_task(spec)
    if isinstance(spec, dict):
        spec = dict(spec)
        if "paths" in spec:
            return T.task_from_config(spec)
        name = spec.pop("name")
        return T.get_task(name, **spec)
    if isinstance(spec, T.TaskLike):
        return spec
    raise InputTypeError(f"A task must be a registry name, a table of task settings or a Task "
                         f"(with {', '.join(T.TaskLike.__annotations__)}, load and "
                         f"zeroshot_scorer). Got {type(spec).__name__} instead.")
