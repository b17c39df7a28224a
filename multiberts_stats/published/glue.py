"""GLUE: the reader of the published fine-tuning predictions (``index.tsv``,
``{TASK}_dev_labels``, one tab-separated scores file per run), into matrices
(:class:`GlueRuns`, :meth:`GlueRuns.to_runs`) or the tidy table (:func:`read_glue`)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.table import MatrixRuns

from .formats import (
    PublishedFormatError,
    check_unlisted,
    filter_index,
    parse_steps,
    read_index,
    repeat_str,
    require_dir,
    require_file,
    runs_tidy_columns,
)

__all__ = ["GlueRuns", "load_glue", "read_glue"]


@dataclass
class GlueRuns:
    """Published GLUE predictions of one task in matrix form.

    Attributes
    ----------
    task : str
        Published task name (``MNLI``, ``STS-B``, ...).
    index : DataFrame
        The index rows of the runs, in index-file order, plus ``step`` (thousands).
    labels : ndarray, shape (n_examples,)
        From ``{TASK}_dev_labels`` (int; float for STS-B).
    preds : ndarray, shape (n_runs, n_examples)
        Argmax class (int), or the value for STS-B (float).
    scores : list of ndarray, optional
        Per-run (n_examples, n_classes) published scores, when ``keep_scores=True``.
    """

    task: str
    root: Path
    index: pd.DataFrame
    labels: np.ndarray
    preds: np.ndarray
    scores: list | None = None

    def to_runs(self) -> MatrixRuns:
        """The runs as a :class:`~multiberts_stats.table.MatrixRuns`, straight from the matrices:
        ``run_info`` (``pretrain_seed``, ``finetune_seed``, ``step``, ``release``, ``n_steps``,
        ``lr``, ``file``, in index order), ``preds``, ``labels``, example ids ``"0"`` ..
        (rows of the labels file).

        Examples
        --------
        >>> import tempfile
        >>> from multiberts_stats.testing import write_example_release
        >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=2)
        >>> load_glue(root / "glue", "MNLI", n_steps="2M").to_runs()
        MatrixRuns(runs=40, examples=60)
        """
        idx = self.index.reset_index(drop=True)
        run_info = pd.DataFrame({"pretrain_seed": idx["pretrain_id"].to_numpy(np.int64),
                                 "finetune_seed": idx["ft_seed"].to_numpy(np.int64),
                                 "step": idx["step"].to_numpy(np.int64),
                                 **{c: idx[c].to_numpy() for c in ("release", "n_steps", "lr",
                                                                    "file")}})
        ids = np.array([str(i) for i in range(len(self.labels))], dtype=object)
        return MatrixRuns(run_info, self.preds, self.labels, ids)

    def __repr__(self) -> str:
        return (f"GlueRuns({self.task!r}, runs={len(self.index)}, examples={len(self.labels)}, "
                f"releases={sorted(set(self.index['release']))}, "
                f"n_steps={sorted(set(self.index['n_steps']))})")


def _read_labels(root: Path, task: str) -> np.ndarray:
    path = require_file(root / f"{task}_dev_labels", f"{task} labels")
    try:
        labels = np.loadtxt(path, ndmin=1)
    except ValueError as exc:
        raise PublishedFormatError(f"The labels file {str(path)!r} must hold one number per "
                                   f"line: {exc}") from exc
    return labels.astype(float) if task == "STS-B" else labels.astype(int)


def load_glue(root, task: str = "MNLI", *, releases=None, n_steps=None, keep_scores: bool = False,
              strict: bool = True, quiet: bool = True) -> GlueRuns:
    """Read the published GLUE predictions of one task.

    Parameters
    ----------
    root : path
        Folder with ``index.tsv``, ``{TASK}_dev_labels`` and the prediction files.
    task : str
        Published task name (``MNLI``, ``SST-2``, ``STS-B``, ...).
    releases, n_steps : str or list, optional
        Keep only these ``release`` (``multiberts``, ``public``) / ``n_steps`` (``1M``, ``2M``).
    keep_scores : bool
        Keep the per-class scores (memory: runs x examples x classes).
    strict : bool
        Raise when the task folders hold prediction files that ``index.tsv`` does not list.
    quiet : bool
        No progress bar.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=2)
    >>> load_glue(root / "glue", "MNLI", releases="multiberts")
    GlueRuns('MNLI', runs=80, examples=60, releases=['multiberts'], n_steps=['1M', '2M'])
    """
    root = require_dir(root, "root")
    full = read_index(root)
    idx = filter_index(full, tasks=task, releases=releases, n_steps=n_steps).copy()
    if idx.empty:
        raise PublishedFormatError(
            f"The index file {str(root / 'index.tsv')!r} lists no run with task={task!r}, "
            f"releases={releases!r}, n_steps={n_steps!r}. Tasks present: "
            f"{sorted(set(full['task']))}.")
    labels = _read_labels(root, task)
    if strict:
        check_unlisted(root, full, idx, ".tsv")
    from multiberts_stats._progress import tqdm

    preds, scores = [], [] if keep_scores else None
    for f in tqdm(idx["file"], desc=f"reading {task} predictions", disable=quiet, file=sys.stderr):
        path = require_file(root / f, "prediction")
        try:
            m = np.loadtxt(path, delimiter="\t", ndmin=2)
        except ValueError as exc:
            raise PublishedFormatError(f"The prediction file {str(path)!r} must be a tab-separated "
                                       f"numeric matrix (examples x classes): {exc}") from exc
        if m.shape[0] != len(labels):
            raise PublishedFormatError(
                f"The prediction file {str(path)!r} has {m.shape[0]} rows but the labels file "
                f"{str(root / f'{task}_dev_labels')!r} has {len(labels)}: one row per dev example.")
        if task == "STS-B":
            if m.shape[1] != 1:
                raise PublishedFormatError(f"The STS-B prediction file {str(path)!r} must have one "
                                           f"column. Got {m.shape[1]} instead.")
            preds.append(m[:, 0].astype(float))
        else:
            preds.append(np.argmax(m, axis=1).astype(int))
        if keep_scores:
            scores.append(m)
    idx["step"] = [parse_steps(s, r) for s, r in zip(idx["n_steps"], idx["release"])]
    return GlueRuns(task, root, idx, labels, np.stack(preds), scores)


def _glue_tidy(runs: GlueRuns) -> pd.DataFrame:
    n_runs, n_ex = runs.preds.shape
    ex_ids = np.array([str(i) for i in range(n_ex)], dtype=object)
    cols = runs_tidy_columns(runs.index, runs.task, n_ex, ex_ids)
    cols["label"] = np.tile(runs.labels.astype(np.float64), n_runs)
    cols["prediction"] = runs.preds.reshape(-1).astype(np.float64)
    if runs.task == "STS-B":
        cols["score"] = cols["prediction"]
    elif runs.scores is not None and runs.scores[0].shape[1] == 2:
        cols["score"] = np.concatenate([s[:, 1] for s in runs.scores]).astype(np.float64)
    else:
        cols["score"] = np.nan
    cols["cluster"] = cols["example_id"]
    cols["release"] = repeat_str(runs.index["release"].to_numpy(), np.full(n_runs, n_ex))
    cols["n_steps"] = repeat_str(runs.index["n_steps"].to_numpy(), np.full(n_runs, n_ex))
    cols["lr"] = np.repeat(runs.index["lr"].to_numpy(float), n_ex)
    cols["published_task"] = runs.task
    cols["file"] = repeat_str(runs.index["file"].to_numpy(), np.full(n_runs, n_ex))
    if runs.scores is not None and runs.task != "STS-B":
        for c in range(runs.scores[0].shape[1]):
            cols[f"score_{c}"] = np.concatenate([s[:, c] for s in runs.scores]).astype(np.float64)
    return pd.DataFrame(cols)


def read_glue(root, tasks=None, *, releases=None, n_steps=None, keep_scores: bool = True,
              strict: bool = True, quiet: bool = True) -> pd.DataFrame:
    """The tidy predictions table of the published GLUE predictions.

    Parameters
    ----------
    root : path
        Folder with ``index.tsv``, the ``{TASK}_dev_labels`` files and the prediction files.
    tasks : str or list, optional
        Published task names; default every task of the index.
    releases, n_steps : optional filters (``multiberts`` / ``public``; ``1M`` / ``2M``).
    keep_scores : bool
        Add the published per-class scores as ``score_0``, ``score_1``, ... (and ``score`` =
        class-1 score for binary tasks).

    Returns
    -------
    DataFrame
        One row per (run, dev example): ``family`` (``multiberts`` or ``bert-base-uncased``
        for the ``public`` release), ``checkpoint`` (hub id), ``pretrain_seed``
        (``pretrain_id``), ``step`` (thousands: 1M -> 1000, 2M -> 2000; original BERT 1000),
        ``task`` (GLUE configuration name, e.g. ``mnli``), ``finetune_seed`` (``ft_seed``),
        ``hparams`` (``{"lr": ...}``), ``example_id`` (row number in the dev labels file),
        ``label``, ``prediction`` (argmax class; the value for STS-B), ``score``, ``cluster``,
        plus ``release``, ``n_steps``, ``lr``, ``published_task``, ``file``.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("glue",), n_seeds=2)
    >>> t = read_glue(root / "glue", "MNLI", n_steps="2M")
    >>> t[["family", "checkpoint", "hparams"]].iloc[0].tolist(), int(t["step"].iloc[0])
    (['multiberts', 'google/multiberts-seed_0', '{"lr": 2e-05}'], 2000)
    """
    root = require_dir(root, "root")
    if tasks is None:
        tasks = list(pd.unique(filter_index(read_index(root), releases=releases,
                                             n_steps=n_steps)["task"]))
    elif isinstance(tasks, str):
        tasks = [tasks]
    frames = [_glue_tidy(load_glue(root, t, releases=releases, n_steps=n_steps,
                                   keep_scores=keep_scores, strict=strict, quiet=quiet))
              for t in tasks]
    return pd.concat(frames, ignore_index=True)
