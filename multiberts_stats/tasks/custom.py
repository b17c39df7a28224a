"""User-defined tasks from a CSV / TSV / JSONL file, in a few lines of Python or a config entry.

>>> from multiberts_stats.tasks import task_from_file, register_task      # doctest: +SKIP
>>> register_task(task_from_file("reviews", "reviews.csv", text_fields=["text"],
...                              label="stars", metric="accuracy"))        # doctest: +SKIP

or, from the runner's TOML::

    [[tasks]]
    name = "reviews"
    path = "data/reviews.jsonl"
    text_fields = ["text"]
    label = "stars"
    metric = ["accuracy", "macro_f1"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .base import KINDS, Task, TaskError
from .readers import read_table

__all__ = ["FileTask", "task_from_file", "task_from_config"]


@dataclass
class FileTask(Task):
    """A task read from one file per split (``paths``: split -> path)."""

    paths: dict = field(default_factory=dict)
    label_column: str = "label"
    id_column: str | None = None
    cluster_source: str | None = None
    format: str | None = None
    keep_columns: bool = True
    on_bad_lines: str = "error"

    def data_source(self, data_dir=None) -> str:
        return ", ".join(f"{s}: {self._path(s, data_dir)}" for s in self.splits)

    def _path(self, split, data_dir=None) -> Path:
        p = Path(self.paths[split]).expanduser()
        base = data_dir if data_dir is not None else self.data_dir
        if not p.is_absolute() and base is not None:
            p = Path(base).expanduser() / p
        return p

    def _load(self, split, data_dir):
        path = self._path(split, data_dir)
        raw = read_table(path, self.format, on_bad_lines=self.on_bad_lines)
        cols = [c for c in raw.columns if c != "_line"]
        if len(raw) == 0:
            raise TaskError(f"Task {self.name!r}: the file {path} has a header but no rows.")
        needed = [*self.text_fields, self.label_column]
        if self.id_column:
            needed.append(self.id_column)
        if self.cluster_source:
            needed.append(self.cluster_source)
        missing = [c for c in needed if c not in raw.columns]
        if missing:
            raise TaskError(f"Task {self.name!r}: the file {path} lacks the column(s) {missing}; the "
                            f"columns found are {cols}.")
        out = pd.DataFrame()
        if self.id_column:
            ids = raw[self.id_column]
            if ids.isna().any():
                ln = raw["_line"][ids.isna()].tolist()[:5]
                raise TaskError(f"Task {self.name!r}: the id column {self.id_column!r} of {path} is empty "
                                f"on line(s) {ln}.")
            out["example_id"] = ids.astype(str).values
        else:
            out["example_id"] = [f"{self.name}-{split}-{i:06d}" for i in range(len(raw))]
        for c in self.text_fields:
            vals = raw[c]
            if vals.isna().any():
                ln = raw["_line"][vals.isna()].tolist()[:5]
                raise TaskError(f"Task {self.name!r}: the text column {c!r} of {path} is missing on "
                                f"line(s) {ln}.")
            out[c] = vals.astype(str).values
        out["label"] = self._raw_labels(raw[self.label_column], raw["_line"], path)
        if self.cluster_source:
            out[self.unit] = raw[self.cluster_source].astype(str).values
        if self.keep_columns:
            for c in cols:
                if c not in out.columns and c not in (self.label_column, self.id_column):
                    out[c] = raw[c].values
        out["_line"] = raw["_line"].values
        out.attrs["source"] = str(path)
        return out

    def _raw_labels(self, lab: pd.Series, lines: pd.Series, path) -> pd.Series:
        if lab.isna().any():
            ln = lines[lab.isna()].tolist()[:5]
            raise TaskError(f"Task {self.name!r}: the label column {self.label_column!r} of {path} is "
                            f"empty on line(s) {ln}.")
        if self.label_space is None:
            return lab.values
        # names first: a label equal to a label-space name is that class (even for "1", "2", ...)
        names = {n: i for i, n in enumerate(self.label_space)}
        as_str = lab.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
        if as_str.isin(names).all():
            return as_str.map(names).values
        return lab.values


def _infer_label_space(path, fmt, label_column, kind) -> list[str] | None:
    if kind == "regression":
        return None
    raw = read_table(path, fmt)
    if label_column not in raw.columns:
        raise TaskError(f"The file {path} lacks the label column {label_column!r}; the columns found are "
                        f"{[c for c in raw.columns if c != '_line']}.")
    vals = raw[label_column].dropna()
    if len(vals) == 0:
        raise TaskError(f"The file {path} has no labels in column {label_column!r} (empty file?).")
    strs = vals.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
    uniq = sorted(set(strs))
    try:
        nums = sorted({int(s) for s in uniq})
    except ValueError:
        return uniq
    if nums == list(range(len(nums))) or (nums and nums[0] >= 0):
        return [str(i) for i in range(max(nums) + 1)]
    raise TaskError(f"The labels of {path} are negative integers {nums[:5]}; pass `label_space` "
                    "(names in class-index order).")


def task_from_file(name: str, path=None, text_fields=None, label: str = "label", metric="accuracy", *,
                   id_column: str | None = None, cluster_column: str | None = None,
                   label_space=None, format: str | None = None, kind: str | None = None,
                   split: str = "validation", paths: dict | None = None,
                   data_dir=None, description: str = "", file=None, metrics=None,
                   text_field=None) -> FileTask:
    """Define a task from a CSV, TSV or JSONL file — no code change in the package.

    Parameters
    ----------
    name : str
        Task name (then ``register_task`` it to use it by name).
    path : str or Path
        The file of the ``split`` split (``paths={"train": ..., "validation": ...}`` for several).
    text_fields : str or list of str
        One text column (a sentence task) or two (a pair task).
    label : str
        The label column: class names or indices, or floats for ``kind="regression"``.
    metric : str or list of str
        Names from ``multiberts_stats.metrics.METRICS``; the first is primary.
    id_column : str, optional
        Column with a stable unique id (default ``"<name>-<split>-<row:06d>"``).
    cluster_column : str, optional
        Column whose values are the resampling clusters (the task's ``unit``).
    label_space : list of str, optional
        Label names in class-index order. Default: the sorted distinct labels of the file
        (integers 0..max when they are integers). Labels outside it are an error at load.
    format : {"csv", "tsv", "jsonl"}, optional
        Default from the extension.
    kind : str, optional
        Default ``classification`` (one text field), ``pair_classification`` (two), or
        ``regression`` when ``metric`` is pearson / spearman and no ``label_space`` is given.
        ``"minimal_pairs"``: ``text_fields`` are the expected sentence and the other one, scored
        zero-shot (:mod:`multiberts_stats.tasks.minimal_pairs`; no label column).
    data_dir : str or Path, optional
        Folder that relative paths are resolved against (default: the working directory).
    file, metrics, text_field
        Aliases of ``path``, ``metric`` and ``text_fields`` (config spellings).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "r.csv")
    >>> _ = open(p, "w").write('text,stars\\n"Good, really",pos\\nBad,neg\\n')
    >>> t = task_from_file("reviews", p, text_fields="text", label="stars")
    >>> t.label_space, t.load()["label"].tolist()
    (['neg', 'pos'], [1, 0])
    """
    path = path if path is not None else file
    metric = metrics if metrics is not None else metric
    text_fields = text_fields if text_fields is not None else text_field
    if isinstance(text_fields, str):
        text_fields = [text_fields]
    if not text_fields:
        raise TaskError(f"The `text_fields` parameter of task_from_file must name at least one column. "
                        f"Got {text_fields!r} instead.")
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if kind == "minimal_pairs":  # text_fields = [expected sentence, other sentence]
        from .minimal_pairs import minimal_pairs_from_config

        paths = dict(paths or {})
        if path is not None:
            paths.setdefault("test" if split == "validation" else split, path)
        return minimal_pairs_from_config(
            {"name": name, "paths": paths, "text_fields": list(text_fields), "metrics": metrics,
             "id_column": id_column, "cluster_column": cluster_column, "format": format,
             "data_dir": data_dir, "description": description, "label_space": label_space})
    if kind is None:
        if label_space is None and metrics and metrics[0] in ("pearson", "spearman"):
            kind = "regression"
        else:
            kind = "classification" if len(text_fields) == 1 else "pair_classification"
    if kind not in KINDS or kind in ("winogender", "token_classification"):
        raise TaskError(f"The `kind` parameter of task_from_file must be classification, "
                        f"pair_classification or regression. Got {kind!r} instead.")
    paths = dict(paths or {})
    if path is not None:
        paths.setdefault(split, path)
    if not paths:
        raise TaskError("task_from_file needs a `path` (or `paths`, split -> file). Got none.")
    if data_dir is not None:
        paths = {s: (Path(data_dir).expanduser() / Path(p).expanduser()) for s, p in paths.items()}
    for s, p in paths.items():
        if not Path(p).expanduser().is_file():
            raise TaskError(f"Task {name!r}: the file {p} for split {s!r} does not exist.")
    if label_space is None and kind != "regression":
        first = paths[split] if split in paths else next(iter(paths.values()))
        label_space = _infer_label_space(first, format, label, kind)
    splits = tuple(paths)
    unit = "example"
    if cluster_column:
        unit = cluster_column if cluster_column not in ("cluster", "example_id") else "cluster_key"
    return FileTask(name=name, kind=kind, text_fields=tuple(text_fields),
                    extra_columns=(unit,) if unit != "example" else (),
                    label_space=None if label_space is None else list(label_space),
                    metrics=tuple(metrics), unit=unit, splits=splits,
                    default_split=split if split in splits else splits[0],
                    description=description or f"user task from {paths[splits[0]]}",
                    paths={k: str(v) for k, v in paths.items()}, label_column=label,
                    id_column=id_column, cluster_source=cluster_column, format=format)


_CONFIG_KEYS = {"name", "path", "file", "paths", "text_fields", "text_field", "label", "metric", "metrics",
                "id_column", "cluster_column", "label_space", "format", "kind", "split", "description",
                "data_dir"}


def task_from_config(config: dict) -> FileTask:
    """A task from a config mapping (e.g. a ``[[tasks]]`` table of the runner's TOML).

    Keys are the parameters of :func:`task_from_file` (``name``, ``path`` or ``paths``,
    ``text_fields`` or ``text_field``, ``label``, ``metric`` or ``metrics``, ``id_column``,
    ``cluster_column``, ``label_space``, ``format``, ``kind``, ``split``, ``description``,
    ``data_dir``: the folder relative paths are resolved against, e.g. the TOML file's folder).
    Unknown keys are an error.
    """
    if not isinstance(config, dict):
        raise TypeError(f"The `config` parameter of task_from_config must be a dict. Got {type(config).__name__}.")
    if config.get("kind") == "minimal_pairs":
        from .minimal_pairs import minimal_pairs_from_config

        return minimal_pairs_from_config(config)
    bad = sorted(set(config) - _CONFIG_KEYS)
    if bad:
        raise TaskError(f"Unknown key(s) {bad} in the task config {config.get('name', '?')!r}; "
                        f"expected some of {sorted(_CONFIG_KEYS)}.")
    c = dict(config)
    if "name" not in c:
        raise TaskError(f"A task config needs a `name`. Got the keys {sorted(config)}.")
    if "text_fields" not in c and "text_field" not in c:
        raise TaskError(f"The task config {c['name']!r} needs `text_fields` (the text column(s)).")
    tf = c.pop("text_fields", None) or c.pop("text_field", None)
    c.pop("text_field", None)
    metric = c.pop("metrics", None) or c.pop("metric", "accuracy")
    c.pop("metric", None)
    name = c.pop("name")
    path = c.pop("path", None) or c.pop("file", None)
    c.pop("file", None)
    return task_from_file(name, path, tf, metric=metric, **c)
