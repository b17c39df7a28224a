"""What the published files share: the error class, file and TSV checks, the ``index.tsv`` of
the GLUE and SQuAD releases, pretraining steps and checkpoint ids, and the per-run columns of a
tidy table built from a matrix of runs x examples."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataFileError, InputError

__all__ = [
    "GLUE_TASK_NAMES",
    "INDEX_COLUMNS",
    "PublishedFileMissingError",
    "PublishedFormatError",
    "check_unlisted",
    "checkpoint_id",
    "family_of",
    "filter_index",
    "hparams_json",
    "int_column",
    "null_int_column",
    "parse_steps",
    "read_index",
    "read_tsv",
    "repeat_str",
    "require_dir",
    "require_file",
    "runs_tidy_columns",
]

INDEX_COLUMNS = ("file", "task", "pretrain_id", "n_steps", "lr", "ft_seed", "release")

# published GLUE task name -> task name in the package registry (GLUE configuration names)
GLUE_TASK_NAMES = {
    "CoLA": "cola", "SST-2": "sst2", "MRPC": "mrpc", "QQP": "qqp", "STS-B": "stsb",
    "MNLI": "mnli", "MNLI-MM": "mnli_mismatched", "QNLI": "qnli", "RTE": "rte", "WNLI": "wnli",
    "v2.0": "squad_v2",
}


class PublishedFormatError(InputError):
    """A published prediction file is missing or does not follow the published format
    (a ``ValueError``)."""


class PublishedFileMissingError(PublishedFormatError, DataFileError):
    """A published file or folder that is not there (a ``PublishedFormatError``, so a
    ``ValueError``, and a ``FileNotFoundError``)."""


def require_file(path: Path, what: str) -> Path:
    """``path`` when it is a file, else :class:`PublishedFileMissingError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise PublishedFileMissingError(
            f"The {what} file {str(path)!r} does not exist. Got a path to nothing instead "
            "(download it from the MultiBERTs release, or pass the right folder).")
    return path


def require_dir(path, what: str) -> Path:
    """``path`` when it is a folder, else :class:`PublishedFileMissingError` naming it."""
    path = Path(path)
    if not path.is_dir():
        raise PublishedFileMissingError(f"The `{what}` folder {str(path)!r} does not exist.")
    return path


def read_tsv(path: Path, what: str, columns: Sequence[str], index_col=0) -> pd.DataFrame:
    """A tab-separated file with at least ``columns``; parser errors name the file."""
    require_file(path, what)
    try:
        df = pd.read_csv(path, sep="\t", index_col=index_col)
    except Exception as exc:  # pandas raises several parser errors
        raise PublishedFormatError(f"Could not parse the {what} file {str(path)!r} as "
                                   f"tab-separated values: {exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PublishedFormatError(
            f"The {what} file {str(path)!r} must have the columns {list(columns)}. "
            f"Missing {missing}; got {list(df.columns)} instead.")
    return df


def int_column(df: pd.DataFrame, col: str, path: Path, what: str) -> np.ndarray:
    """Column ``col`` as int64, or an error naming the file and the non-integer values."""
    values = pd.to_numeric(df[col], errors="coerce")
    if values.isna().any() or not np.all(np.mod(values, 1) == 0):
        bad = df[col][values.isna() | (np.mod(values.fillna(0.5), 1) != 0)].head(3).tolist()
        raise PublishedFormatError(f"The `{col}` column of the {what} file {str(path)!r} must "
                                   f"hold integers. Got {bad} instead.")
    return values.to_numpy().astype(np.int64)


def hparams_json(lr=None) -> str:
    """The tidy ``hparams`` text of a run (``{"lr": ...}``, ``{}`` without a rate)."""
    return "{}" if lr is None else json.dumps({"lr": float(lr)}, sort_keys=True)


def parse_steps(value, release: str | None = None) -> int:
    """Pretraining steps of an ``n_steps`` entry, in **thousands** (``"2M"`` -> 2000).

    ``"1M"`` -> 1000, ``"200k"`` -> 200, a plain number is a raw step count (``"0"`` -> 0).
    The original BERT rows (``release == "public"``) carry ``n_steps = 0`` in the published
    index; original BERT was pretrained for 1M steps (Devlin et al., 2019), so those map to 1000
    (the raw value stays in the tidy table's ``n_steps`` column).

    Examples
    --------
    >>> parse_steps("2M"), parse_steps("1M"), parse_steps("200k"), parse_steps(0, "public")
    (2000, 1000, 200, 1000)
    """
    s = str(value).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmM]?)", s)
    if not m:
        raise PublishedFormatError(f"The `n_steps` entry must look like '2M', '1M', '200k' or a "
                                   f"number. Got {value!r} instead.")
    num, unit = float(m.group(1)), m.group(2).lower()
    thousands = num * 1000 if unit == "m" else num if unit == "k" else num / 1000
    if release == "public" and thousands == 0:
        return 1000
    return round(thousands)


def checkpoint_id(release: str, seed: int, step: int) -> str:
    """The hub id of a published run's checkpoint (``step`` in thousands)."""
    if release == "public":
        return "bert-base-uncased"
    if step == 2000:
        return f"google/multiberts-seed_{seed}"
    return f"google/multiberts-seed_{seed}-step_{step}k"


def family_of(release: str) -> str:
    """The tidy ``family`` of a release (``public`` is the original ``bert-base-uncased``)."""
    return "bert-base-uncased" if release == "public" else str(release)


def null_int_column(n: int):
    """An all-null Int64 column of length n (the ``layer`` of non-probe runs)."""
    return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))


def repeat_str(values: Sequence, counts_or_codes: np.ndarray, *, codes=False) -> pd.Series:
    """A string column built from few distinct values (fast for millions of rows)."""
    cats = pd.Index(pd.unique(np.asarray(values, dtype=object)))
    if codes:
        idx = counts_or_codes
    else:
        idx = np.repeat(cats.get_indexer(np.asarray(values, dtype=object)), counts_or_codes)
    return pd.Series(pd.Categorical.from_codes(idx, categories=cats)).astype(str)


def read_index(root: Path, task_filter=None) -> pd.DataFrame:
    """``root/index.tsv`` (GLUE, SQuAD) with typed columns; a file listed twice is an error."""
    path = root / "index.tsv"
    df = read_tsv(path, "index", INDEX_COLUMNS, index_col=None)
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed")]
    df = df.drop(columns=unnamed)
    df["file"] = df["file"].astype(str)
    df["task"] = df["task"].astype(str)
    df["release"] = df["release"].astype(str)
    df["n_steps"] = df["n_steps"].astype(str)
    df["pretrain_id"] = int_column(df, "pretrain_id", path, "index")
    df["ft_seed"] = int_column(df, "ft_seed", path, "index")
    df["lr"] = pd.to_numeric(df["lr"], errors="raise")
    dup = df["file"].duplicated()
    if dup.any():
        raise PublishedFormatError(f"The index file {str(path)!r} lists the file "
                                   f"{df['file'][dup].iloc[0]!r} more than once.")
    return df


def check_unlisted(root: Path, full_index: pd.DataFrame, selected: pd.DataFrame, suffix: str):
    """Prediction files on disk, beside the selected ones, that index.tsv does not list."""
    listed = {str((root / f).resolve()) for f in full_index["file"]}
    folders = {(root / f).parent for f in selected["file"]}
    for folder in sorted(folders):
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix == suffix and str(p.resolve()) not in listed:
                raise PublishedFormatError(
                    f"The prediction file {str(p)!r} is not listed in {str(root / 'index.tsv')!r}: "
                    "every prediction file needs a row (release, pretrain_id, n_steps, lr, "
                    "ft_seed) in the index. Remove the file or add its row.")


def filter_index(df: pd.DataFrame, tasks=None, releases=None, n_steps=None) -> pd.DataFrame:
    """The index rows of the given tasks / releases / n_steps (each a value or a list)."""
    def as_list(x):
        return None if x is None else ([x] if isinstance(x, str) else list(x))

    mask = np.ones(len(df), bool)
    for col, val in (("task", as_list(tasks)), ("release", as_list(releases)),
                     ("n_steps", as_list(n_steps))):
        if val is not None:
            mask &= df[col].isin([str(v) for v in val]).to_numpy()
    return df[mask]



def runs_tidy_columns(idx: pd.DataFrame, task: str, n_ex: int, example_ids: np.ndarray) -> dict:
    """The per-run columns of a tidy table (GLUE and SQuAD), repeated over examples."""
    n_runs = len(idx)
    counts = np.full(n_runs, n_ex)
    seeds = idx["pretrain_id"].to_numpy()
    steps = idx["step"].to_numpy()
    rel = idx["release"].to_numpy()
    return {
        "family": repeat_str([family_of(r) for r in rel], counts),
        "checkpoint": repeat_str([checkpoint_id(r, s, st) for r, s, st in zip(rel, seeds, steps)],
                                  counts),
        "pretrain_seed": np.repeat(seeds, n_ex).astype(np.int64),
        "step": np.repeat(steps, n_ex).astype(np.int64),
        "task": GLUE_TASK_NAMES.get(task, task.lower()),
        "split": "validation",
        "method": "finetune",
        "layer": null_int_column(n_runs * n_ex),
        "finetune_seed": np.repeat(idx["ft_seed"].to_numpy(), n_ex).astype(np.int64),
        "hparams": repeat_str([hparams_json(lr) for lr in idx["lr"]], counts),
        "example_id": repeat_str(example_ids, np.tile(np.arange(n_ex), n_runs), codes=True)
        if len(set(example_ids)) == len(example_ids) else np.tile(example_ids, n_runs),
    }
