"""The :class:`Task` base class, the registry, and where data come from.

No torch / transformers / datasets import at module level.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .readers import DataNotFoundError, TaskError

__all__ = [
    "Task",
    "TaskError",
    "UnknownTaskError",
    "DataNotFoundError",
    "fetch_published_file",
    "KINDS",
    "DATA_ENV",
    "register_task",
    "get_task",
    "list_tasks",
    "describe_tasks",
    "hub_allowed",
    "data_roots",
    "data_env_value",
    "DATA_ENV_ALIASES",
    "first_existing",
    "cache_dir",
    "CACHE_ENV",
    "TaskLike",
]

#: THE environment variable naming the local data folder (glue/, winogender/, ud_english_ewt/...)
DATA_ENV = "MULTIBERTS_STATS_DATA"
#: older names of it, still read (the demo's): give one or the other, not two different folders
DATA_ENV_ALIASES = ("MULTIBERTS_SHARED_DATA",)
#: environment variable naming the download cache (default ``$XDG_CACHE_HOME/multiberts_stats``)
CACHE_ENV = "MULTIBERTS_STATS_CACHE"
KINDS = ("classification", "pair_classification", "regression", "token_classification",
         "winogender", "minimal_pairs")


class UnknownTaskError(TaskError, KeyError):
    """A task name that is not registered; the message lists the registered tasks."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def hub_allowed() -> bool:
    """Whether the Hugging Face hub may be tried (False when HF_HUB_OFFLINE / HF_DATASETS_OFFLINE)."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return False
    return True


def data_env_value() -> str | None:
    """The data folder(s) named by the environment: ``$MULTIBERTS_STATS_DATA``, or its older
    name ``$MULTIBERTS_SHARED_DATA``; None when neither is set. Both set to different folders
    is ambiguous and refused."""
    values = {name: os.environ[name] for name in (DATA_ENV, *DATA_ENV_ALIASES) if os.environ.get(name)}
    if len(set(values.values())) > 1:
        raise TaskError(f"The environment names two data folders: {values}. Set only ${DATA_ENV}.")
    return next(iter(values.values()), None)


def data_roots(data_dir=None) -> list[Path]:
    """Local folders to look in: ``data_dir`` if given, else ``$MULTIBERTS_STATS_DATA`` (or its
    older name ``$MULTIBERTS_SHARED_DATA``) if set."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    env = data_env_value()
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return []


def cache_dir(name: str) -> Path:
    """The download cache folder of one data set: ``$MULTIBERTS_STATS_CACHE/<name>`` (default
    ``$XDG_CACHE_HOME/multiberts_stats/<name>``)."""
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "multiberts_stats")
    return Path(base) / name


def first_existing(roots: list[Path], relatives: list[str]) -> tuple[Path | None, list[Path]]:
    """The first ``root / relative`` that exists (and every path looked at, in order)."""
    looked = []
    for root in roots:
        for rel in relatives:
            p = root / rel if rel else root
            looked.append(p)
            if p.exists():
                return p, looked
    return None, looked


@dataclass
class Task:
    """A task: how to load its examples, which text goes in, its labels, metrics and unit.

    Attributes
    ----------
    name : str
        Registry name (e.g. ``"sst2"``, ``"winogender"``, ``"pos"``).
    kind : str
        One of ``classification``, ``pair_classification``, ``regression``,
        ``token_classification``, ``winogender``.
    text_fields : tuple of str
        The text column(s) fed to the model, in order (one sentence, or a pair).
    label_space : list of str or None
        Label names; the index of a name is its class id. None for regression.
    metrics : tuple of str
        Names from :data:`multiberts_stats.metrics.METRICS`; the first is the primary metric.
    unit : str
        Resampling unit: ``"example"`` or the column whose values are clusters (``"occupation"``).
    splits : tuple of str
        Splits that :meth:`load` accepts; ``default_split`` is the evaluation split.
        ``split_aliases`` maps other names onto them (Winogender's only split is ``test``, MNLI's
        ``validation`` means ``validation_matched``), so a runner asking for ``"validation"``
        gets the evaluation data of every task.
    data_dir : str or Path, optional
        Default local data folder for this task (overrides ``$MULTIBERTS_STATS_DATA``).

    Examples
    --------
    >>> from multiberts_stats.tasks import get_task
    >>> t = get_task("rte")
    >>> t.kind, t.text_fields, t.label_space, t.metrics
    ('pair_classification', ('sentence1', 'sentence2'), ['entailment', 'not_entailment'], ('accuracy',))
    """

    name: str
    kind: str
    text_fields: tuple = ()
    label_space: list | None = None
    metrics: tuple = ("accuracy",)
    unit: str = "example"
    splits: tuple = ("validation",)
    default_split: str | None = None
    description: str = ""
    data_dir: str | os.PathLike | None = None
    aliases: tuple = ()
    extra_columns: tuple = field(default=(), repr=False)
    split_aliases: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        from multiberts_stats.metrics import METRICS

        if not isinstance(self.name, str) or not self.name.strip():
            raise TaskError(f"The `name` of a task must be a non-empty string. Got {self.name!r} instead.")
        if self.kind not in KINDS:
            raise TaskError(f"The `kind` of task {self.name!r} must be one of {list(KINDS)}. "
                            f"Got {self.kind!r} instead.")
        if isinstance(self.text_fields, str):
            self.text_fields = (self.text_fields,)
        self.text_fields = tuple(self.text_fields)
        if isinstance(self.metrics, str):
            self.metrics = (self.metrics,)
        self.metrics = tuple(self.metrics)
        if not self.metrics:
            raise TaskError(f"Task {self.name!r} needs at least one metric (names from "
                            f"multiberts_stats.metrics.METRICS: {sorted(METRICS)}). Got none.")
        for m in self.metrics:
            if m not in METRICS:
                raise TaskError(f"The `metric` {m!r} of task {self.name!r} is not a known metric; "
                                f"expected one of {sorted(METRICS)}.")
        if self.label_space is not None:
            self.label_space = [str(x) for x in self.label_space]
            if len(set(self.label_space)) != len(self.label_space) or not self.label_space:
                raise TaskError(f"The `label_space` of task {self.name!r} must be a non-empty list of "
                                f"distinct names. Got {self.label_space!r} instead.")
        elif self.kind != "regression":
            raise TaskError(f"Task {self.name!r} of kind {self.kind!r} needs a `label_space` "
                            "(list of label names; index = class id). Got None.")
        if self.kind == "regression" and self.label_space is not None:
            raise TaskError(f"Task {self.name!r} is a regression task: its `label_space` must be None. "
                            f"Got {self.label_space!r} instead.")
        if isinstance(self.splits, str):
            self.splits = (self.splits,)
        self.splits = tuple(self.splits)
        if self.default_split is None:
            self.default_split = ("validation" if "validation" in self.splits else self.splits[0])
        if self.default_split not in self.splits:
            raise TaskError(f"The `default_split` of task {self.name!r} must be one of {self.splits}. "
                            f"Got {self.default_split!r} instead.")
        self.aliases = tuple(self.aliases)
        self.split_aliases = dict(self.split_aliases or {})
        bad = {k: v for k, v in self.split_aliases.items() if v not in self.splits}
        if bad:
            raise TaskError(f"The `split_aliases` of task {self.name!r} must point at splits in "
                            f"{list(self.splits)}. Got {bad} instead.")

    # ------------------------------------------------------------------ info
    @property
    def primary_metric(self) -> str:
        """The first metric."""
        return self.metrics[0]

    @property
    def num_labels(self) -> int | None:
        """Number of classes (None for regression)."""
        return None if self.label_space is None else len(self.label_space)

    @property
    def level(self) -> str:
        """``"sentence"`` (classification, pairs, regression), ``"token"`` or ``"zeroshot"`` (Winogender)."""
        return {"token_classification": "token", "winogender": "zeroshot",
                "minimal_pairs": "zeroshot"}.get(self.kind, "sentence")

    @property
    def cluster_column(self) -> str | None:
        """The column holding clusters, or None when the unit is the example."""
        return None if self.unit == "example" else self.unit

    def data_source(self, data_dir=None) -> str:
        """Where :meth:`load` would read from, in words (for ``multiberts-stats tasks``)."""
        return "local files"

    # ------------------------------------------------------------------ load
    def load(self, split: str | None = None, data_dir=None) -> pd.DataFrame:
        """Load one split as a DataFrame.

        Columns: ``example_id`` (str, unique, stable), the text field(s), ``label`` (int class
        index, or float for regression), ``cluster`` (str; equals ``example_id`` when the unit is
        the example), then task-specific columns.

        Parameters
        ----------
        split : str, optional
            One of :attr:`splits`; default :attr:`default_split`.
        data_dir : str or Path, optional
            Local data root (a folder with ``glue/``, ``winogender/``, ``ud_english_ewt/`` as in
            ``../shared/data``, or the task's own folder). Default: the task's ``data_dir``, then
            ``$MULTIBERTS_STATS_DATA``, then the Hugging Face hub when reachable.
        """
        split = self.resolve_split(split)
        df = self._load(split, data_dir if data_dir is not None else self.data_dir)
        return self._finish(df, split)

    def resolve_split(self, split: str | None) -> str:
        """The canonical split name for ``split`` (None -> ``default_split``; aliases resolved)."""
        if split is None:
            return self.default_split
        if split in self.splits:
            return split
        if split in self.split_aliases:
            return self.split_aliases[split]
        extra = f" (or the alias(es) {sorted(self.split_aliases)})" if self.split_aliases else ""
        raise TaskError(f"The `split` parameter of {self.name}.load must be one of "
                        f"{list(self.splits)}{extra}. Got {split!r} instead.")

    def _load(self, split: str, data_dir) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError(f"Task {self.name!r} ({type(self).__name__}) has no loader.")

    def _finish(self, df: pd.DataFrame, split: str) -> pd.DataFrame:
        if len(df) == 0:
            raise TaskError(f"Task {self.name!r}, split {split!r}: the data have no examples.")
        where = df.attrs.get("source", "the data")
        cols = [c for c in df.columns if not str(c).startswith("_")]
        needed = ["example_id", *self.text_fields, "label"]
        if self.cluster_column:
            needed.append(self.cluster_column)
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise TaskError(f"Task {self.name!r}: {where} lack(s) the column(s) {missing}; "
                            f"the columns found are {cols}.")
        df = df.copy()
        df["example_id"] = df["example_id"].astype(str)
        dup = df["example_id"][df["example_id"].duplicated(keep=False)]
        if len(dup):
            ex = list(dict.fromkeys(dup.tolist()))[:5]
            raise TaskError(f"Task {self.name!r}: `example_id` must be unique; {where} has "
                            f"{dup.nunique()} duplicated id(s), e.g. {ex}.")
        df["label"] = self._check_labels(df, where)
        if self.cluster_column:
            df["cluster"] = df[self.cluster_column].astype(str)
        else:
            df["cluster"] = df["example_id"]
        first = ["example_id", *self.text_fields, "label", "cluster"]
        rest = [c for c in cols if c not in first]
        out = df[first + rest].reset_index(drop=True)
        out.attrs["task"] = self.name
        out.attrs["split"] = split
        out.attrs["source"] = where
        return out

    def _check_labels(self, df: pd.DataFrame, where: str) -> pd.Series:
        lab = df["label"]
        line = df["_line"] if "_line" in df.columns else None

        def at(mask):
            idx = np.flatnonzero(np.asarray(mask))[:5]
            parts = []
            for i in idx:
                loc = f"line {int(line.iloc[i])}" if line is not None else f"example {df['example_id'].iloc[i]}"
                parts.append(f"{loc}: {lab.iloc[i]!r}")
            return "; ".join(parts)

        if self.kind == "regression":
            vals = pd.to_numeric(lab, errors="coerce")
            bad = vals.isna() | ~np.isfinite(vals.astype(float))
            if bad.any():
                raise TaskError(f"Task {self.name!r}: the label of a regression task must be a finite "
                                f"number; {where} has {int(bad.sum())} that are not ({at(bad)}).")
            return vals.astype(float)
        if self.kind == "token_classification":
            return lab  # per-token labels are checked by the task itself
        k = len(self.label_space)
        names = {n: i for i, n in enumerate(self.label_space)}
        if pd.api.types.is_bool_dtype(lab):
            lab = lab.astype(int)

        def to_id(v):
            if isinstance(v, (bool, np.bool_)):
                return int(v)
            if isinstance(v, (int, np.integer)):
                return int(v)
            if isinstance(v, (float, np.floating)):
                return int(v) if float(v).is_integer() else None
            s = str(v).strip()
            if s in names:
                return names[s]
            try:
                f = float(s)
            except ValueError:
                return None
            return int(f) if f.is_integer() else None

        ids = lab.map(to_id)
        bad = ids.isna() | ~ids.map(lambda i: i is not None and 0 <= i < k)
        if bad.any():
            raise TaskError(f"Task {self.name!r}: every label must be one of {self.label_space} or a "
                            f"class index 0..{k - 1}; {where} has {int(bad.sum())} outside the label "
                            f"space ({at(bad)}).")
        return ids.astype("int64")

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, table, metrics=None, prediction_col: str = "prediction") -> dict:
        """Compute the task's metrics on a table with ``label`` and ``prediction`` columns.

        ``table`` is typically ``task.load(split)`` with a ``prediction`` column added (for
        Winogender the metrics also read ``gender``, ``occupation``, ``bls_pct_female``).
        Uses :func:`multiberts_stats.metrics.compute_metric`, so values equal those of the
        bootstrap engine on the full data.

        Examples
        --------
        >>> import pandas as pd
        >>> from multiberts_stats.tasks import get_task
        >>> get_task("mrpc").evaluate(pd.DataFrame({"label": [1, 0, 1, 1], "prediction": [1, 0, 0, 1]}))
        {'accuracy': 0.75, 'f1': 0.8}
        """
        from multiberts_stats.metrics import compute_metric

        names = self.metrics if metrics is None else ((metrics,) if isinstance(metrics, str) else metrics)
        if prediction_col != "prediction":
            table = pd.DataFrame(table).rename(columns={prediction_col: "prediction"})
        return {m: compute_metric(m, table) for m in names}

    def label_id(self, name: str) -> int:
        """Class index of a label name."""
        if self.label_space is None or name not in self.label_space:
            raise TaskError(f"The label {name!r} is not in the label space of {self.name!r}: "
                            f"{self.label_space}.")
        return self.label_space.index(name)

    @property
    def num_outputs(self) -> int:
        """Outputs of a model head for this task: the number of classes, 1 for regression."""
        return 1 if self.label_space is None else len(self.label_space)

    def zeroshot_scorer(self):
        """The function that scores this task zero-shot with a masked LM, or None.

        A task scored zero-shot (Winogender, minimal pairs) returns a callable
        ``scorer(model, tokenizer, examples, *, batch_size, device, quiet, amp, **options)``
        giving a frame with ``example_id``, ``prediction`` and optionally ``score`` and extra
        columns; ``options`` come from the experiment's ``[methods.zeroshot] options``.
        Tasks without one return None (the default).
        """
        return None

    def info(self, data_dir=None) -> dict:
        """One row of ``multiberts-stats tasks``."""
        return {"name": self.name, "kind": self.kind, "text_fields": ",".join(self.text_fields),
                "labels": "float" if self.label_space is None else len(self.label_space),
                "metrics": ",".join(self.metrics), "unit": self.unit,
                "splits": ",".join(self.splits), "data": self.data_source(data_dir)}


@runtime_checkable
class TaskLike(Protocol):
    """What the runner reads from a task (every :class:`Task` has it).

    ``name``, ``kind``, ``text_fields`` (the text column(s) fed to the model), ``label_space``
    (None for regression), ``metrics``, ``unit`` (the resampling unit), ``splits`` and
    ``default_split``, ``extra_columns`` (task columns kept in the predictions table), ``level``
    (``"sentence"``, ``"token"`` or ``"zeroshot"``), ``num_outputs``, ``load(split)`` and
    ``zeroshot_scorer()`` (None when the task is not scored zero-shot).
    """

    name: str
    kind: str
    text_fields: tuple
    label_space: list | None
    metrics: tuple
    unit: str
    splits: tuple
    default_split: str | None
    extra_columns: tuple

    @property
    def level(self) -> str: ...

    @property
    def num_outputs(self) -> int: ...

    def load(self, split: str | None = None, data_dir=None) -> pd.DataFrame: ...

    def zeroshot_scorer(self): ...


# ---------------------------------------------------------------------- registry
_REGISTRY: dict[str, Task] = {}
_ALIASES: dict[str, str] = {}


def _norm(name: str) -> str:
    return name.strip().lower()


def _squash(name: str) -> str:
    return _norm(name).replace("-", "").replace("_", "").replace(" ", "")


def register_task(task: Task, *, overwrite: bool = False) -> Task:
    """Add a task to the registry (under ``task.name`` and its ``aliases``) and return it.

    Registering a different task under a name already taken is an error unless ``overwrite``.

    Examples
    --------
    >>> import os, tempfile
    >>> from multiberts_stats.tasks import get_task, register_task, task_from_config
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "reviews.csv"), "w").write("text,stars\\ngreat,pos\\nbad,neg\\n")
    >>> t = register_task(task_from_config({"name": "my_doc_task", "path": "reviews.csv",
    ...     "data_dir": folder, "text_fields": ["text"], "label": "stars", "metric": "accuracy",
    ...     "label_space": ["neg", "pos"]}), overwrite=True)
    >>> get_task("my_doc_task").load()["label"].tolist()
    [1, 0]
    """
    if not isinstance(task, Task):
        raise TypeError(f"The `task` parameter of register_task must be a Task. Got {type(task).__name__}.")
    key = _norm(task.name)
    old = _REGISTRY.get(key)
    if old is not None and old is not task and not overwrite:
        raise TaskError(f"A task named {task.name!r} is already registered ({type(old).__name__}, "
                        f"kind {old.kind!r}); pass overwrite=True to replace it.")
    if key in _ALIASES and not overwrite:
        raise TaskError(f"The name {task.name!r} is an alias of the registered task "
                        f"{_ALIASES[key]!r}; pass overwrite=True to replace it.")
    _ALIASES.pop(key, None)
    _REGISTRY[key] = task
    for a in task.aliases:
        if _norm(a) not in _REGISTRY:
            _ALIASES[_norm(a)] = key
    return task


def get_task(name, **overrides) -> Task:
    """Look a task up by name (case-insensitive; ``SST-2`` = ``sst2``); keyword arguments give a
    copy with those attributes replaced (e.g. ``data_dir=``).

    Examples
    --------
    >>> from multiberts_stats.tasks import get_task
    >>> get_task("SST-2").name, get_task("winogender").unit
    ('sst2', 'occupation')
    """
    if isinstance(name, Task):
        task = name
    else:
        if not isinstance(name, str):
            raise TypeError(f"The `name` parameter of get_task must be a task name (str). "
                            f"Got {type(name).__name__} instead.")
        key = _norm(name)
        if key.startswith("glue/") or key.startswith("glue:"):
            key = key[5:]
        key = _ALIASES.get(key, key)
        task = _REGISTRY.get(key)
        if task is None:
            squashed = {_squash(k): k for k in list(_REGISTRY) + list(_ALIASES)}
            k2 = squashed.get(_squash(key))
            if k2 is not None:
                task = _REGISTRY[_ALIASES.get(k2, k2)]
        if task is None:
            raise UnknownTaskError(f"Unknown task {name!r}. Registered tasks: "
                                   f"{', '.join(sorted(_REGISTRY))}. Define your own with "
                                   "task_from_file(...) / task_from_config(...) and register_task(...).")
    if overrides:
        names = {f.name for f in dataclasses.fields(task)}
        bad = [k for k in overrides if k not in names]
        if bad:
            raise TypeError(f"get_task({task.name!r}, ...) got unknown attribute(s) {bad}; "
                            f"a task has {sorted(names)}.")
        task = dataclasses.replace(task, **overrides)
    return task


def list_tasks(kind: str | None = None) -> list[str]:
    """Names of the registered tasks (optionally of one ``kind``), sorted.

    Examples
    --------
    >>> from multiberts_stats.tasks import list_tasks
    >>> [t for t in ["cola", "sst2", "winogender", "pos"] if t in list_tasks()]
    ['cola', 'sst2', 'winogender', 'pos']
    """
    return sorted(n for n, t in _REGISTRY.items() if kind is None or t.kind == kind)


def describe_tasks(data_dir=None) -> pd.DataFrame:
    """A table of the registered tasks: name, kind, fields, labels, metrics, unit, splits, data."""
    rows = [_REGISTRY[n].info(data_dir) for n in list_tasks()]
    return pd.DataFrame(rows)


def fetch_published_file(url: str, cache_name: str, file_name: str, looked, *, what: str,
                         folder_hint: str, timeout: float = 30) -> Path:
    """A published data file from the download cache, else downloaded once into it.

    ``looked`` are the local paths already tried (named in the error). Offline
    (``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``) or on a failed download, a
    :class:`~multiberts_stats.tasks.DataNotFoundError` names every place looked. The file is
    written to a temporary name and renamed, so an interrupted download leaves nothing behind.
    """
    import urllib.request

    cache = cache_dir(cache_name)
    target = cache / file_name
    if target.is_file():
        return target
    where = "; ".join(str(p) for p in looked) if looked else \
        "no local folder (pass data_dir= or set $MULTIBERTS_STATS_DATA)"
    if not hub_allowed():
        raise DataNotFoundError(
            f"No {what} data: looked for {file_name} at {where} and in the cache {cache}; "
            "downloads are switched off (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE). Point data_dir "
            f"or $MULTIBERTS_STATS_DATA at a folder holding {folder_hint}.")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            data = r.read()
    except Exception as e:  # noqa: BLE001 — any failure is named with the URL
        raise DataNotFoundError(f"No {what} data: looked at {where}; downloading {url} failed: "
                                f"{type(e).__name__}: {e}") from e
    tmp = cache / (file_name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target
