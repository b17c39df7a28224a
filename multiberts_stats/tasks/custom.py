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

import warnings

import pandas as pd

from multiberts_stats.errors import DataWarning

from .base import KINDS, Task, TaskError
from .readers import read_table, task_file

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
    encoding: str = "utf-8"
    header: bool | None = True
    names: tuple | None = None

    def data_source(self, data_dir=None) -> str:
        return ", ".join(f"{s}: {self._path(s, data_dir)}" for s in self.splits)

    def _path(self, split, data_dir=None) -> Path:
        return task_file(self.paths[split], data_dir if data_dir is not None else self.data_dir)

    def _load(self, split, data_dir):
        path = self._path(split, data_dir)
        raw = read_table(path, self.format, on_bad_lines=self.on_bad_lines, encoding=self.encoding,
                         header=self.header, names=None if self.names is None else list(self.names))
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
        empty = lab.isna() | lab.map(lambda v: isinstance(v, str) and not v.strip())
        if empty.any():
            ln = lines[empty].tolist()[:5]
            raise TaskError(f"Task {self.name!r}: the label column {self.label_column!r} of {path} is "
                            f"empty on {int(empty.sum())} line(s), e.g. {ln}; every example needs a label.")
        if self.label_space is None:
            return lab.values
        # names first: a label equal to a label-space name is that class (even for "1", "2", ...)
        names = {n: i for i, n in enumerate(self.label_space)}
        as_str = lab.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
        if as_str.isin(names).all():
            return as_str.map(names).values
        return lab.values


def _label_text(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()


def _infer_label_space(paths: dict, label_column: str, read_kw: dict, name: str) -> list[str]:
    """The label space of files that do not declare one: their distinct labels (integers
    0..max when they are integers), with a :class:`DataWarning` for what looks like a stray
    class (one seen on very few lines, or integer classes that never occur)."""
    counts: dict[str, int] = {}
    first_line: dict[str, str] = {}
    for split, path in paths.items():
        raw = read_table(path, **read_kw)
        if label_column not in raw.columns:
            raise TaskError(f"The file {path} lacks the label column {label_column!r}; the columns "
                            f"found are {[c for c in raw.columns if c != '_line']}.")
        for v, ln in zip(raw[label_column], raw["_line"]):
            if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
                raise TaskError(f"Task {name!r}: the label column {label_column!r} of {path} is empty "
                                f"on line {ln}; every example needs a label.")
            t = _label_text(v)
            counts[t] = counts.get(t, 0) + 1
            first_line.setdefault(t, f"{path}:{ln}")
    if not counts:
        raise TaskError(f"The files of task {name!r} have no labels in column {label_column!r}.")
    try:
        nums = sorted({int(t) for t in counts})
    except ValueError:
        space = sorted(counts)
    else:
        if nums[0] < 0:
            raise TaskError(f"The labels of task {name!r} are negative integers {nums[:5]}; pass "
                            "`labels` (names in class-index order).")
        space = [str(i) for i in range(nums[-1] + 1)]
        never = [t for t in space if t not in counts]
        if never:
            warnings.warn(f"Task {name!r}: the integer labels {nums} leave the class(es) {never} "
                          f"without a single example; pass `labels=[...]` to declare the label space "
                          "(and check the data).", DataWarning, stacklevel=3)
    n = sum(counts.values())
    rare = [t for t, c in counts.items() if len(counts) > 2 and c <= max(2, n // 100)]
    if rare:
        shown = ", ".join(f"{t!r} ({counts[t]} line(s), first at {first_line[t]})" for t in rare[:5])
        warnings.warn(f"Task {name!r}: the label space {space} was inferred from the data, and the "
                      f"class(es) {shown} look stray; pass `labels=[...]` to declare the label space "
                      "(labels outside it are then an error).", DataWarning, stacklevel=3)
    return space


def task_from_file(name: str, path=None, text_fields=None, label: str = "label", metric="accuracy", *,
                   id_column: str | None = None, cluster_column: str | None = None,
                   label_space=None, format: str | None = None, kind: str | None = None,
                   split: str = "validation", paths: dict | None = None,
                   data_dir=None, description: str = "", file=None, metrics=None,
                   text_field=None, labels=None, encoding: str = "utf-8",
                   header: bool | None = True, names=None,
                   on_bad_lines: str = "error") -> FileTask:
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
    labels, label_space : list of str, optional
        The label space: label names in class-index order (``labels`` and ``label_space`` are
        the same parameter; give one). Labels outside it are an error at load. Default: the
        sorted distinct labels of all the files (integers 0..max when they are integers), with a
        ``DataWarning`` when a class looks stray (seen on very few lines, or an integer class
        with no example).
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
    encoding : str
        Text encoding of the files (default UTF-8; e.g. ``"latin-1"``).
    header, names
        ``header=None`` reads files without a header line, with the columns ``names`` (e.g.
        GLUE's CoLA: ``names=["source", "label", "original_label", "sentence"]``).
    on_bad_lines : {"error", "warn"}
        Malformed lines: an error naming them (default), or skipped with a warning.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "r.csv")
    >>> _ = open(p, "w").write('text,stars\\n"Good, really",pos\\nBad,neg\\n')
    >>> t = task_from_file("reviews", p, text_fields="text", label="stars")
    >>> t.label_space, t.load()["label"].tolist()
    (['neg', 'pos'], [1, 0])
    """
    if labels is not None and label_space is not None and list(labels) != list(label_space):
        raise TaskError(f"task_from_file got both `labels` ({labels!r}) and `label_space` "
                        f"({label_space!r}); give one.")
    label_space = labels if labels is not None else label_space
    if label_space is not None and (isinstance(label_space, str) or not label_space):
        raise TaskError(f"The `labels` parameter of task_from_file must be a non-empty list of label "
                        f"names (in class-index order). Got {label_space!r} instead.")
    if names is not None:
        names = tuple(names)
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
             "data_dir": data_dir, "description": description, "label_space": label_space,
             "encoding": encoding})
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
    read_kw = {"format": format, "encoding": encoding, "header": header,
               "names": None if names is None else list(names), "on_bad_lines": on_bad_lines}
    if label_space is None and kind != "regression":
        label_space = _infer_label_space(paths, label, read_kw, name)
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
                    id_column=id_column, cluster_source=cluster_column, format=format,
                    encoding=encoding, header=header, names=names, on_bad_lines=on_bad_lines)


_CONFIG_KEYS = {"name", "path", "file", "paths", "text_fields", "text_field", "label", "metric", "metrics",
                "id_column", "cluster_column", "label_space", "labels", "format", "kind", "split",
                "description", "data_dir", "encoding", "header", "names", "on_bad_lines"}


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
