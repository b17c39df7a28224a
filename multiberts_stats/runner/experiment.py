"""The experiment file: a TOML description of checkpoints x tasks x methods, and its job grid.

Example::

    name = "probe-and-finetune"
    store = "runs/store"            # relative paths are relative to this file
    device = "cpu"                  # "cpu", "cuda", "cuda:1" or "auto"
    dtype = "float32"               # or "bfloat16" / "float16" (autocast)
    finetune_seeds = [0, 1, 2]      # default seeds of fine-tuning (and probes)

    # a family selection ...
    checkpoints = { family = "multiberts", seeds = "0-4", steps = [0, 2000] }
    # ... (decoders: family = "polypythia-70m", or family = "polypythia" with sizes = ["14m",
    # "70m"] and optionally variant = "data-seed" / "weight-seed"; steps in optimiser steps) ...
    # ... or local folders of a family (seed and step read from the folder names) ...
    # checkpoints = { family = "tiny", root = "families/tiny", seeds = "0..3" }
    # ... or an explicit list
    # [[checkpoints]]
    # path = "models/my-bert-seed0"   (or hub_id = "bert-base-uncased", revision = "main")
    # family = "mine"
    # seed = 0
    # step = 2000

    tasks = ["sst2", { name = "rte", eval_split = "validation" },
             { name = "reviews", files = { train = "data/train.csv", validation = "data/dev.csv" },
               text = ["sentence"], label = "label" }]
    # a file task is read by the one file reader of multiberts_stats.tasks (task_from_file):
    # CSV with standard quoting, GLUE-style TSV, JSONL; `files` / `text` / `id` / `cluster` are
    # the TOML names of its `paths` / `text_fields` / `id_column` / `cluster_column` (`text`
    # defaults to ["sentence"], `label` to "label"); any other key of task_from_config
    # (label_space, metric, format, kind, encoding...) may be given too.

    [methods.probe]
    layers = "all"                  # or a list of layer indices (0 = embeddings)
    pooling = "mean"                # "cls" or "mean"
    C = [0.001, 0.01, 0.1, 1.0]     # regularisation grid, chosen by CV on training data
    max_train = 4000

    [methods.finetune]
    learning_rate = [2e-5, 5e-5]    # a list is a grid axis
    epochs = 3
    batch_size = 32
    warmup = 0.1
    max_train = 2000
    seeds = [0, 1, 2]
    save_weights = false

    [methods.zeroshot]
    batch_size = 32

Every key is checked; an error names the key, the rule and what it got.  Seeds and steps use
one selector grammar everywhere (``3``, ``[0, 2]``, ``"0-4"``, ``"0..4"``, ``"0:4"``, ``"0-4,9"``;
``"all"`` for checkpoints).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from multiberts_stats.checkpoints import (
    Checkpoint,
    CheckpointError,
    Family,
    catalog_family,
    custom_family,
    expand_selector,
)
from multiberts_stats.errors import DataFileError

from .jobs import CheckpointSpec, Job
from .methods import METHODS, method_settings
from .settings import (
    ExperimentError,
    check_device,
    check_dtype,
    parse_seeds,
    setting_error,
)

__all__ = ["Experiment", "load_experiment", "ExperimentError", "parse_seeds", "FILE_TASK_KEYS"]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = {"name", "store", "device", "dtype", "checkpoints", "tasks", "methods", "finetune_seeds",
            "description", "checkpoint_root"}
#: the TOML names of a file task's settings -> the parameters of ``task_from_config``
FILE_TASK_KEYS = {"files": "paths", "text": "text_fields", "id": "id_column",
                  "cluster": "cluster_column"}
_FOLDER_FAMILY_KEYS = {"family", "root", "seeds", "steps", "step", "lenient"}
_CATALOG_KEYS = {"family", "seeds", "steps", "strict", "lenient"}
_LIST_KEYS = {"path", "hub_id", "revision", "family", "seed", "step", "name"}


@dataclass
class Experiment:
    """A validated experiment: checkpoint specs, task specs, method settings, store, hardware.

    Build one with :func:`load_experiment` (from TOML) or :meth:`from_dict`; ``jobs()`` gives
    its grid.
    """

    name: str
    store: str
    checkpoints: list
    tasks: list
    methods: dict
    device: str = "cpu"
    dtype: str = "float32"
    finetune_seeds: list = field(default_factory=lambda: [0])
    config: dict = field(default_factory=dict)
    base_dir: str = "."

    @classmethod
    def from_dict(cls, cfg: dict, base_dir=".") -> "Experiment":
        """Validate a parsed TOML dict (see the module docstring for the schema)."""
        if not isinstance(cfg, dict):
            raise ExperimentError(f"An experiment must be a table of keys. Got {type(cfg).__name__} instead.")
        base = Path(base_dir)
        unknown = sorted(set(cfg) - TOP_KEYS)
        if unknown:
            raise ExperimentError(f"The experiment has unknown keys {unknown}; the known keys are "
                                  f"{sorted(TOP_KEYS)}.")
        for k in ("store", "checkpoints", "tasks", "methods"):
            if k not in cfg:
                raise ExperimentError(f"The `{k}` key of the experiment is required and missing.")
        name = cfg.get("name", "experiment")
        if not isinstance(name, str) or not name:
            raise setting_error("name", "must be a non-empty string", name)
        store = cfg["store"]
        if not isinstance(store, str) or not store:
            raise setting_error("store", "must be a folder path (a string)", store)
        store = str((base / store).resolve()) if not Path(store).is_absolute() else store
        _check_store_folder(Path(store))
        device = check_device(cfg.get("device", "cpu"))
        dtype = check_dtype(cfg.get("dtype", "float32"))
        seeds = parse_seeds(cfg.get("finetune_seeds", [0]), "finetune_seeds")
        checkpoints = _checkpoints(cfg["checkpoints"], base)
        root = cfg.get("checkpoint_root")
        if root is not None:
            if not isinstance(root, str) or not root:
                raise setting_error("checkpoint_root", "must be a folder path (a string)", root)
            root = str(Path(root) if Path(root).is_absolute() else (base / root).resolve())
            checkpoints = [c.replace(checkpoint_root=root) for c in checkpoints]
        tasks = _tasks(cfg["tasks"], base)
        methods = _methods(cfg["methods"])
        return cls(name=name, store=store, checkpoints=checkpoints, tasks=tasks, methods=methods,
                   device=device, dtype=dtype, finetune_seeds=seeds, config=cfg, base_dir=str(base))

    def with_limit(self, n: int) -> "Experiment":
        """The same experiment on at most ``n`` training and ``n`` evaluation examples per task
        (a smoke run): every method's ``max_train`` / ``max_eval`` capped at ``n``.

        The caps are settings, so they are part of every job key: a limited run never counts as
        done for the full experiment (nor the other way round).

        Examples
        --------
        >>> exp = Experiment(name="e", store="s", checkpoints=[], tasks=[],
        ...                  methods={"probe": {"max_train": 4000, "max_eval": None},
        ...                           "zeroshot": {"max_eval": 30}})
        >>> exp.with_limit(50).methods
        {'probe': {'max_train': 50, 'max_eval': 50}, 'zeroshot': {'max_eval': 30}}
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ExperimentError(f"The `n` parameter of Experiment.with_limit (examples per task) must "
                                  f"be a positive integer. Got {n!r} instead.")

        def cap(v):
            if isinstance(v, list):
                return sorted({cap(x) for x in v})
            return n if v is None else min(int(v), n)

        methods = {}
        for name, s in self.methods.items():
            if "max_eval" not in s:
                raise ExperimentError(f"The method {name!r} has no `max_eval` setting, so a limit on "
                                      "its examples cannot be applied.")
            methods[name] = {**s, **{k: cap(s[k]) for k in ("max_train", "max_eval") if k in s}}
        return replace(self, methods=methods, config={**self.config, "limit": int(n)})

    def jobs(self, *, device: str | None = None, dtype: str | None = None) -> list[Job]:
        """The grid: checkpoint x task x method x (hyper-parameter point) x seed."""
        device = _pick_device(check_device(device or self.device, "device"))
        dtype = check_dtype(dtype or self.dtype, "dtype")
        config = _jsonable(self.config)
        out: list[Job] = []
        for task in self.tasks:
            spec, tname, splits, obj = task["spec"], task["name"], task["splits"], task["task"]
            for method_name, settings in self.methods.items():
                method = METHODS[method_name]
                s = dict(settings)
                seeds = s.pop("seeds", None)
                if not method.seeded:
                    seeds = [0]
                elif seeds is None:
                    seeds = self.finetune_seeds
                eval_split = s.pop("eval_split", None) or splits.get("eval_split") or obj.default_split
                train_split = s.pop("train_split", None) or splits.get("train_split") or "train"
                if not method.trains:
                    train_split = None
                points, rest = method.grid(s)
                for hp in points:
                    for ckpt in self.checkpoints:
                        for seed in seeds:
                            out.append(Job(checkpoint=ckpt, task=spec, task_name=tname,
                                           method=method_name, eval_split=eval_split,
                                           train_split=train_split, settings=dict(rest),
                                           seed=int(seed), hparams=dict(hp), store=self.store,
                                           device=device, dtype=dtype, experiment=self.name,
                                           config=config, method_version=method.version))
        return out


def _check_store_folder(path: Path) -> None:
    """The store must be a store folder, or a folder to create, or an empty one: never a file,
    and never a folder of other things (the runner would write its parts among them)."""
    from multiberts_stats.store import is_store

    if path.exists() and not path.is_dir():
        raise setting_error("store", "must be a folder (the store of the experiment), not a file", str(path))
    if path.is_dir() and not is_store(path) and any(path.iterdir()):
        shown = sorted(p.name for p in path.iterdir())[:5]
        raise setting_error("store", f"must be a store folder, a new folder or an empty one; this folder "
                            f"holds other things ({shown})", str(path))


def _jsonable(cfg):
    """The config as plain JSON (objects given from Python, e.g. a Task, become their repr)."""
    return json.loads(json.dumps(cfg, sort_keys=True, default=lambda o: repr(o)))


def _pick_device(device: str) -> str:
    if device == "auto":
        try:
            import torch
            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"
    return device


# ---------------------------------------------------------------------------- checkpoints
_SEED_RE = re.compile(r"seed[_-]?(\d+)", re.I)
_STEP_RE = re.compile(r"step[_-]?(\d+)(k?)", re.I)


def _folder_labels(path: Path) -> tuple[int | None, int | None]:
    """Seed and step of a checkpoint folder: from the record a family builder wrote
    (``tiny_checkpoint.json`` / ``mini_pretraining.json``), else from a name like
    ``...seed_3-step_200k`` (step in the unit the name uses)."""
    for rec in ("tiny_checkpoint.json", "mini_pretraining.json"):
        try:
            r = json.loads((path / rec).read_text())
            return int(r["seed"]), int(r["step"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    seed = _SEED_RE.search(path.name)
    step = _STEP_RE.search(path.name)
    return (int(seed.group(1)) if seed else None), (int(step.group(1)) if step else None)


def _select(fam: Family, entry: dict, where: str) -> Family:
    """``entry``'s seeds / steps of a family, in the one selector grammar; what does not exist is
    an error unless ``lenient = true`` (then the existing part is kept, and must not be empty)."""
    lenient = entry.get("lenient", False)
    if not isinstance(lenient, bool):
        raise setting_error(f"{where}.lenient", "must be true or false", lenient)
    seeds, steps = entry.get("seeds"), entry.get("steps")
    try:
        if lenient:
            if seeds is not None:
                want = expand_selector(seeds, f"{where}.seeds", "the experiment", noun="key")
                seeds = None if want is None else [s for s in want if s in set(fam.seeds)] or want
            if steps is not None:
                want = expand_selector(steps, f"{where}.steps", "the experiment", noun="key")
                steps = None if want is None else [s for s in want if s in set(fam.steps)] or want
        strict = entry.get("strict", True) and not lenient
        return fam.select(seeds=seeds, steps=steps, strict=bool(strict))
    except CheckpointError as e:
        hint = "" if lenient else " (lenient = true keeps the checkpoints that exist)"
        raise ExperimentError(f"The `{where}` selection {entry!r} is invalid{hint}: {e}") from e


def _local_family(entry: dict, base: Path) -> list[CheckpointSpec]:
    unknown = sorted(set(entry) - _FOLDER_FAMILY_KEYS)
    if unknown:
        raise setting_error("checkpoints", f"has unknown keys {unknown} for a folder family (the "
                            f"keys are {sorted(_FOLDER_FAMILY_KEYS)})", entry)
    root = Path(entry["root"])
    root = root if root.is_absolute() else (base / root)
    if not root.is_dir():
        raise setting_error("checkpoints.root", "must be an existing folder of checkpoint folders", str(root))
    family = entry.get("family", root.name)
    default_step = entry.get("step", 2000)
    if isinstance(default_step, bool) or not isinstance(default_step, int) or default_step < 0:
        raise setting_error("checkpoints.step", "must be a non-negative integer", default_step)
    # skip hidden folders (a writer killed mid-write leaves a `.name.*` temporary folder)
    folders = sorted({p.parent for p in root.rglob("config.json")
                      if not any(part.startswith(".") for part in p.relative_to(root).parts)})
    if not folders:
        raise setting_error("checkpoints.root", "must hold checkpoint folders (with a config.json)", str(root))
    members = []
    for i, f in enumerate(folders):
        seed, step = _folder_labels(f)
        members.append({"path": str(f), "seed": seed if seed is not None else i,
                        "step": step if step is not None else int(default_step)})
    try:
        fam = custom_family(str(family), members, step_unit="steps")
    except CheckpointError as e:
        raise ExperimentError(f"The folder family {str(root)!r} is ambiguous: {e}") from e
    return [CheckpointSpec.from_catalog(c) for c in _select(fam, entry, "checkpoints")]


def _catalog_family(entry: dict) -> list[CheckpointSpec]:
    """A family of the checkpoint catalog (multiberts, the PolyPythias)."""
    fam_name = entry["family"]
    if fam_name == "polypythia":  # several sizes: one family each (selection by size)
        from multiberts_stats.checkpoints.polypythia import polypythias

        rest = {k: v for k, v in entry.items() if k not in ("sizes", "variant")}
        try:
            fams = polypythias(entry.get("sizes"), entry.get("variant", "seeds"))
        except CheckpointError as e:
            raise ExperimentError(f"The `checkpoints` selection {entry!r} is invalid: {e}") from e
        return [spec for fam in fams for spec in _catalog_family({**rest, "family": fam.name})]
    unknown = sorted(set(entry) - _CATALOG_KEYS)
    if unknown:
        raise setting_error("checkpoints", f"has unknown keys {unknown} for a catalog family "
                            f"(the keys are {sorted(_CATALOG_KEYS)}; sizes and variant with family "
                            "= 'polypythia'; or root= for a folder family)", entry)
    try:
        fam = catalog_family(fam_name)
    except CheckpointError:
        raise setting_error("checkpoints.family", "must be a catalog family ('multiberts', "
                            "'polypythia-70m', ..., 'polypythia-160m-data-seed') for a catalog "
                            "selection (other families: give `root` = a folder of checkpoint "
                            "folders, or a list of checkpoints)", fam_name) from None
    # one checkpoint per (seed, step): 165, not the 5 step_2000k aliases too
    return [CheckpointSpec.from_catalog(c) for c in _select(fam, entry, "checkpoints")]


def _checkpoints(value, base: Path) -> list[CheckpointSpec]:
    if isinstance(value, Checkpoint):
        value = [value]
    if isinstance(value, Family):
        value = list(value)
    if isinstance(value, list) and value and all(isinstance(v, (Checkpoint, CheckpointSpec))
                                                 for v in value):
        return [v if isinstance(v, CheckpointSpec) else CheckpointSpec.from_catalog(v) for v in value]
    if isinstance(value, dict):
        if "root" in value:
            return _local_family(value, base)
        if "family" in value:
            return _catalog_family(value)
        raise setting_error("checkpoints", "must be a family selection ({family=..., seeds=..., "
                            "steps=...}), a folder family ({family=..., root=...}) or a list of "
                            "checkpoints", value)
    if not isinstance(value, list) or not value:
        raise setting_error("checkpoints", "must be a non-empty list or a family selection", value)
    out = []
    for i, item in enumerate(value):
        where = f"checkpoints[{i}]"
        if isinstance(item, str):
            item = {"path": item} if (base / item).exists() or Path(item).is_absolute() else {"hub_id": item}
        if not isinstance(item, dict):
            raise setting_error(where, "must be a hub id, a folder path or a table", item)
        unknown = set(item) - _LIST_KEYS
        if unknown:
            raise setting_error(where, f"has unknown keys {sorted(unknown)}; allowed: "
                                f"{', '.join(sorted(_LIST_KEYS))}", item)
        if ("path" in item) == ("hub_id" in item):
            raise setting_error(where, "must have exactly one of `path` or `hub_id`", item)
        if "path" in item:
            p = Path(item["path"])
            p = p if p.is_absolute() else (base / p).resolve()
            seed0, step0 = _folder_labels(p)
            place = {"path": str(p)}
            default_name = str(p)
        else:
            place = {"hub_id": str(item["hub_id"]), "revision": item.get("revision") or None}
            seed0, step0 = _folder_labels(Path(place["hub_id"]))
            default_name = place["hub_id"]
        seed = item.get("seed", seed0 if seed0 is not None else i)
        step = item.get("step", step0 if step0 is not None else 2000)
        for k, v in (("seed", seed), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise setting_error(f"{where}.{k}", "must be a non-negative integer", v)
        try:
            out.append(CheckpointSpec(family=str(item.get("family", "custom")),
                                      name=str(item.get("name", default_name)), seed=int(seed),
                                      step=int(step), **place))
        except CheckpointError as e:
            raise ExperimentError(f"The `{where}` checkpoint is invalid: {e}") from e
    return out


# ---------------------------------------------------------------------------- tasks
def _file_task_config(item: dict, where: str, base: Path) -> dict:
    """A TOML file task -> the keyword arguments of ``task_from_config`` (paths made absolute)."""
    cfg = {}
    for k, v in item.items():
        key = FILE_TASK_KEYS.get(k, k)
        if key in cfg:
            raise setting_error(where, f"gives both `{k}` and `{key}`; give one", item)
        cfg[key] = v
    for single in ("path", "file"):
        if single in cfg:
            if "paths" in cfg:
                raise setting_error(where, f"gives both `{single}` and `files`; give one", item)
            split = cfg.pop("split", "validation")
            cfg["paths"] = {split: cfg.pop(single)}
    files = cfg["paths"]
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        raise setting_error(f"{where}.files", "must map split names to file paths", files)
    paths = {}
    for k, v in files.items():
        p = Path(v).expanduser()
        p = p if p.is_absolute() else (base / p).resolve()
        if not p.is_file():
            raise setting_error(f"{where}.files.{k}", "must name an existing file", str(p))
        paths[k] = str(p)
    cfg["paths"] = paths
    cfg.setdefault("text_fields", ["sentence"])
    return cfg


def _tasks(value, base: Path) -> list[dict]:
    from multiberts_stats.tasks import TaskLike

    from .loading import resolve_task

    if isinstance(value, (str, dict)) or isinstance(value, TaskLike):
        value = [value]
    if not isinstance(value, list) or not value:
        raise setting_error("tasks", "must be a non-empty list of task names or task tables", value)
    out = []
    for i, item in enumerate(value):
        where = f"tasks[{i}]"
        if isinstance(item, TaskLike):
            out.append({"name": str(item.name), "spec": item, "splits": {}, "task": item})
            continue
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise setting_error(where, "must be a task name or a table with a `name`", item)
        item = dict(item)
        splits = {k: item.pop(k) for k in ("train_split", "eval_split") if k in item}
        if any(k in item for k in ("files", "paths", "path", "file")):
            spec = _file_task_config(item, where, base)
        else:
            if "data_dir" in item and not Path(item["data_dir"]).is_absolute():
                item["data_dir"] = str((base / item["data_dir"]).resolve())
            spec = item if len(item) > 1 else item["name"]
        try:
            task = resolve_task(spec)
        except (ValueError, TypeError, KeyError, OSError) as e:
            raise ExperimentError(f"The `{where}` task {item.get('name')!r} is invalid: {e}") from e
        if isinstance(spec, dict) and "paths" in spec:
            # read every file once now: a bad label, an empty label, a duplicated id or a
            # malformed line stops the experiment here, naming the file and the line
            for split in task.splits:
                try:
                    task.load(split)
                except (ValueError, TypeError, KeyError, OSError) as e:
                    raise ExperimentError(f"The `{where}` task {item.get('name')!r} cannot be read "
                                          f"(split {split!r}): {e}") from e
            if "labels" not in spec:
                # freeze the label space read from the files (workers neither re-read nor re-warn)
                spec["label_space"] = task.label_space
        out.append({"name": item["name"], "spec": spec, "splits": splits, "task": task})
    return out


# ---------------------------------------------------------------------------- methods
def _methods(value) -> dict:
    if not isinstance(value, dict) or not value:
        raise setting_error("methods", f"must be a table with at least one of {', '.join(METHODS)}",
                            value)
    return {name: method_settings(name, settings) for name, settings in value.items()}


def load_experiment(path) -> Experiment:
    """Read and validate an experiment TOML file (relative paths are relative to it).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "m").mkdir(); _ = (d / "m" / "config.json").write_text("{}")
    >>> _ = (d / "e.toml").write_text('store = "out"\\ncheckpoints = ["m"]\\ntasks = ["sst2"]\\n'
    ...                               '[methods.probe]\\npooling = "cls"\\n')
    >>> exp = load_experiment(d / "e.toml")
    >>> exp.methods["probe"]["pooling"], exp.checkpoints[0].seed
    ('cls', 0)
    """
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"The experiment file {str(p)!r} does not exist.")
    try:
        cfg = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ExperimentError(f"The experiment file {str(p)!r} is not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ExperimentError(f"The experiment file {str(p)!r} is not UTF-8 text: {e}") from e
    cfg.setdefault("name", p.stem)
    return Experiment.from_dict(cfg, base_dir=p.parent.resolve())
