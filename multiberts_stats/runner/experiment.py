"""The experiment file: a TOML description of checkpoints x tasks x methods, and its job grid.

Example::

    name = "probe-and-finetune"
    store = "runs/store"            # relative paths are relative to this file
    device = "cpu"                  # "cpu", "cuda", "cuda:1" or "auto"
    dtype = "float32"               # or "bfloat16" / "float16" (autocast)
    finetune_seeds = [0, 1, 2]      # default seeds of fine-tuning (and probes)

    # a family selection ...
    checkpoints = { family = "multiberts", seeds = "0-4", steps = [0, 2000] }
    # ... or local folders of a family (seed and step read from the folder names) ...
    # checkpoints = { family = "tiny", root = "families/tiny" }
    # ... or an explicit list
    # [[checkpoints]]
    # path = "models/my-bert-seed0"   (or hub_id = "bert-base-uncased", revision = "main")
    # family = "mine"
    # seed = 0
    # step = 2000

    tasks = ["sst2", { name = "rte", eval_split = "validation" },
             { name = "reviews", files = { train = "data/train.tsv", validation = "data/dev.tsv" },
               text = ["sentence"], label = "label" }]

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

Every key is checked; an error names the key, the rule and what it got.
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jobs import Job

__all__ = ["Experiment", "load_experiment", "ExperimentError", "parse_seeds"]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ExperimentError(ValueError):
    """An experiment description that breaks a rule; the message names the key."""


TOP_KEYS = {"name", "store", "device", "dtype", "checkpoints", "tasks", "methods", "finetune_seeds",
            "description", "checkpoint_root"}
METHOD_SPECS: dict[str, dict[str, Any]] = {
    "probe": {"layers": "all", "pooling": "mean", "C": [0.001, 0.01, 0.1, 1.0], "folds": 3,
              "max_train": 4000, "max_eval": None, "batch_size": 32, "max_length": 128,
              "max_iter": 1000, "seeds": None, "train_split": None, "eval_split": None,
              "word_pooling": "first"},
    "finetune": {"learning_rate": 2e-5, "epochs": 3, "batch_size": 32, "warmup": 0.1,
                 "weight_decay": 0.01, "max_train": None, "max_eval": None, "max_length": 128,
                 "seeds": None, "save_weights": False, "train_split": None, "eval_split": None,
                 "eval_batch_size": 64},
    "zeroshot": {"batch_size": 32, "eval_split": None, "options": {}, "max_eval": None},
}
GRID_KEYS = {"finetune": ("learning_rate", "epochs", "batch_size", "warmup", "weight_decay", "max_train")}
DTYPES = ("float32", "bfloat16", "float16")


def _err(where: str, rule: str, got) -> ExperimentError:
    return ExperimentError(f"The `{where}` key of the experiment {rule}. Got {got!r} instead.")


def parse_seeds(value, where: str = "seeds") -> list[int]:
    """``"0-4,7"`` / ``[0, 1]`` / ``3`` -> a sorted list of distinct non-negative ints.

    Examples
    --------
    >>> parse_seeds("0-2,5")
    [0, 1, 2, 5]
    """
    if isinstance(value, bool):
        raise _err(where, "must be a list of non-negative integers or a range like '0-4'", value)
    if isinstance(value, int):
        value = [value]
    if isinstance(value, str):
        out = []
        for part in value.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
            if m:
                a, b = int(m.group(1)), int(m.group(2))
                if b < a:
                    raise _err(where, "must hold ranges low-high with low <= high", value)
                out.extend(range(a, b + 1))
            elif part.isdigit():
                out.append(int(part))
            else:
                raise _err(where, "must be a list of non-negative integers or a range like '0-4'", value)
        value = out
    if not isinstance(value, (list, tuple)) or not value:
        raise _err(where, "must be a non-empty list of non-negative integers or a range like '0-4'", value)
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise _err(where, "must hold non-negative integers only", value)
    return sorted(set(int(v) for v in value))


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
            raise _err("name", "must be a non-empty string", name)
        store = cfg["store"]
        if not isinstance(store, str) or not store:
            raise _err("store", "must be a folder path (a string)", store)
        store = str((base / store).resolve()) if not Path(store).is_absolute() else store
        device = cfg.get("device", "cpu")
        if not isinstance(device, str) or not re.fullmatch(r"cpu|auto|cuda(:\d+)?|mps", device):
            raise _err("device", "must be 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'", device)
        dtype = cfg.get("dtype", "float32")
        if dtype not in DTYPES:
            raise _err("dtype", f"must be one of {DTYPES}", dtype)
        seeds = parse_seeds(cfg.get("finetune_seeds", [0]), "finetune_seeds")
        checkpoints = _checkpoints(cfg["checkpoints"], base)
        root = cfg.get("checkpoint_root")
        if root is not None:
            if not isinstance(root, str) or not root:
                raise _err("checkpoint_root", "must be a folder path (a string)", root)
            root = str(Path(root) if Path(root).is_absolute() else (base / root).resolve())
            for c in checkpoints:
                c["checkpoint_root"] = root
        tasks = _tasks(cfg["tasks"], base)
        methods = _methods(cfg["methods"])
        return cls(name=name, store=store, checkpoints=checkpoints, tasks=tasks, methods=methods,
                   device=device, dtype=dtype, finetune_seeds=seeds, config=cfg, base_dir=str(base))

    def jobs(self, *, device: str | None = None, dtype: str | None = None) -> list[Job]:
        """The grid: checkpoint x task x method x (hyper-parameter point) x seed."""
        device = _pick_device(device or self.device)
        dtype = dtype or self.dtype
        if dtype not in DTYPES:
            raise ExperimentError(f"The `dtype` parameter must be one of {DTYPES}. Got {dtype!r} instead.")
        out: list[Job] = []
        for task in self.tasks:
            spec, tname, splits = task["spec"], task["name"], task["splits"]
            for method, settings in self.methods.items():
                s = dict(settings)
                seeds = parse_seeds(s.pop("seeds"), f"methods.{method}.seeds") if s.get("seeds") is not None \
                    else ([0] if method == "zeroshot" else self.finetune_seeds)
                s.pop("seeds", None)
                if method == "zeroshot":
                    seeds = [0]
                eval_split = (s.pop("eval_split", None) or splits.get("eval_split")
                              or _default_split(spec))
                train_split = s.pop("train_split", None) or splits.get("train_split") or "train"
                if method == "zeroshot":
                    train_split = None
                if method == "finetune":
                    grid_keys = [k for k in GRID_KEYS["finetune"] if isinstance(s.get(k), list)]
                    axes = [s[k] for k in grid_keys]
                    points = []
                    for point in itertools.product(*axes):
                        hp = {k: s[k] for k in GRID_KEYS["finetune"]}
                        hp.update(zip(grid_keys, point))
                        points.append(hp)
                    settings_ = {k: v for k, v in s.items() if k not in GRID_KEYS["finetune"]}
                elif method == "probe":
                    points = [{"pooling": s["pooling"], "C": s["C"], "max_train": s["max_train"]}]
                    settings_ = s
                else:
                    points = [{}]
                    settings_ = s
                for hp in points:
                    for ckpt in self.checkpoints:
                        for seed in seeds:
                            out.append(Job(checkpoint=ckpt, task=spec, task_name=tname, method=method,
                                           eval_split=eval_split, train_split=train_split,
                                           settings=dict(settings_), seed=int(seed), hparams=dict(hp),
                                           store=self.store, device=device, dtype=dtype,
                                           experiment=self.name, config=_jsonable(self.config)))
        return out


def _default_split(spec) -> str:
    try:
        from .resolve import resolve_task
        return resolve_task(spec).default_split or "validation"
    except Exception:  # resolved (with a clear error) when the job runs
        return "validation"


def _jsonable(cfg):
    """The config as plain JSON (objects given from Python, e.g. a Task, become their repr)."""
    import json
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
    import json

    for rec in ("tiny_checkpoint.json", "mini_pretraining.json"):
        try:
            r = json.loads((path / rec).read_text())
            return int(r["seed"]), int(r["step"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    name = path.name
    seed = _SEED_RE.search(name)
    step = _STEP_RE.search(name)
    s = int(seed.group(1)) if seed else None
    st = int(step.group(1)) if step else None
    return s, st


def _local_family(entry: dict, base: Path) -> list[dict]:
    root = Path(entry["root"])
    root = root if root.is_absolute() else (base / root)
    if not root.is_dir():
        raise _err("checkpoints.root", "must be an existing folder of checkpoint folders", str(root))
    family = entry.get("family", root.name)
    default_step = entry.get("step", 2000)
    # skip hidden folders (a writer killed mid-write leaves a `.name.*` temporary folder)
    folders = sorted({p.parent for p in root.rglob("config.json")
                      if not any(part.startswith(".") for part in p.relative_to(root).parts)})
    if not folders:
        raise _err("checkpoints.root", "must hold checkpoint folders (with a config.json)", str(root))
    out = []
    for i, f in enumerate(folders):
        seed, step = _folder_labels(f)
        out.append({"family": family, "checkpoint": str(f), "path": str(f),
                    "pretrain_seed": seed if seed is not None else i,
                    "step": step if step is not None else int(default_step)})
    return _filter_selection(out, entry)


def _filter_selection(specs: list[dict], entry: dict) -> list[dict]:
    if "seeds" in entry:
        keep = set(parse_seeds(entry["seeds"], "checkpoints.seeds"))
        specs = [s for s in specs if s["pretrain_seed"] in keep]
    if "steps" in entry:
        keep = set(parse_seeds(entry["steps"], "checkpoints.steps"))
        specs = [s for s in specs if s["step"] in keep]
    if not specs:
        raise ExperimentError(f"The `checkpoints` selection {entry!r} selects no checkpoint.")
    return specs


def _catalog_family(entry: dict) -> list[dict]:
    """A family of the checkpoint catalog (multiberts or a registered one)."""
    try:
        from multiberts_stats import checkpoints as C
    except ImportError as e:
        raise ExperimentError(f"The `checkpoints.family` {entry.get('family')!r} needs "
                              f"multiberts_stats.checkpoints: {e}") from e
    from .resolve import spec_from_checkpoint

    fam_name = entry["family"]
    unknown = set(entry) - {"family", "seeds", "steps", "strict"}
    if unknown:
        raise _err("checkpoints", f"has unknown keys {sorted(unknown)} for a catalog family "
                   "(allowed: family, seeds, steps, strict; or root= for a folder family)", entry)
    kw = {k: entry[k] for k in ("seeds", "steps", "strict") if k in entry}
    if fam_name != "multiberts":
        raise _err("checkpoints.family", "must be 'multiberts' for a catalog selection (other "
                   "families: give `root` = a folder of checkpoint folders, or a list of "
                   "checkpoints)", fam_name)
    try:
        sel = C.multiberts().select(**kw)  # one checkpoint per (seed, step): 165, not the 5 step_2000k aliases too
    except C.CheckpointError as e:
        raise ExperimentError(f"The `checkpoints` selection {entry!r} is invalid: {e}") from e
    return [spec_from_checkpoint(c) for c in sel]


def _checkpoints(value, base: Path) -> list[dict]:
    from .resolve import spec_from_checkpoint

    if hasattr(value, "hub_id") and hasattr(value, "seed"):       # one catalog Checkpoint
        value = [value]
    if not isinstance(value, (dict, list, str)) and hasattr(value, "__iter__"):   # a Family
        value = list(value)
    if isinstance(value, list) and value and all(hasattr(v, "hub_id") and hasattr(v, "seed")
                                                 for v in value):
        return [spec_from_checkpoint(v) for v in value]
    if isinstance(value, dict):
        if "root" in value:
            return _local_family(value, base)
        if "family" in value:
            return _catalog_family(value)
        raise _err("checkpoints", "must be a family selection ({family=..., seeds=..., steps=...}), "
                   "a folder family ({family=..., root=...}) or a list of checkpoints", value)
    if not isinstance(value, list) or not value:
        raise _err("checkpoints", "must be a non-empty list or a family selection", value)
    out = []
    for i, item in enumerate(value):
        where = f"checkpoints[{i}]"
        if isinstance(item, str):
            item = {"path": item} if (base / item).exists() or Path(item).is_absolute() else {"hub_id": item}
        if not isinstance(item, dict):
            raise _err(where, "must be a hub id, a folder path or a table", item)
        unknown = set(item) - {"path", "hub_id", "revision", "family", "seed", "step", "name"}
        if unknown:
            raise _err(where, f"has unknown keys {sorted(unknown)}; allowed: path, hub_id, revision, "
                       "family, seed, step, name", item)
        if ("path" in item) == ("hub_id" in item):
            raise _err(where, "must have exactly one of `path` or `hub_id`", item)
        spec = {"family": str(item.get("family", "custom"))}
        if "path" in item:
            p = Path(item["path"])
            p = p if p.is_absolute() else (base / p).resolve()
            spec["path"] = str(p)
            spec["checkpoint"] = item.get("name", str(p))
            seed0, step0 = _folder_labels(p)
        else:
            spec["hub_id"] = str(item["hub_id"])
            spec["checkpoint"] = item.get("name", spec["hub_id"])
            if item.get("revision"):
                spec["revision"] = str(item["revision"])
            seed0, step0 = _folder_labels(Path(spec["hub_id"]))
        seed = item.get("seed", seed0 if seed0 is not None else i)
        step = item.get("step", step0 if step0 is not None else 2000)
        for k, v in (("seed", seed), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise _err(f"{where}.{k}", "must be a non-negative integer", v)
        spec["pretrain_seed"], spec["step"] = int(seed), int(step)
        out.append(spec)
    return out


# ---------------------------------------------------------------------------- tasks
def _tasks(value, base: Path) -> list[dict]:
    if isinstance(value, (str, dict)) or (hasattr(value, "load") and hasattr(value, "name")):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _err("tasks", "must be a non-empty list of task names or task tables", value)
    out = []
    for i, item in enumerate(value):
        where = f"tasks[{i}]"
        if not isinstance(item, (str, dict)) and hasattr(item, "load") and hasattr(item, "name"):
            out.append({"name": str(item.name), "spec": item, "splits": {}})   # a Task object
            continue
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _err(where, "must be a task name or a table with a `name`", item)
        item = dict(item)
        splits = {k: item.pop(k) for k in ("train_split", "eval_split") if k in item}
        if "files" in item:
            files = item["files"]
            if not isinstance(files, dict) or not files:
                raise _err(f"{where}.files", "must map split names to file paths", files)
            item["files"] = {k: str(Path(v) if Path(v).is_absolute() else (base / v).resolve())
                             for k, v in files.items()}
            for k, v in item["files"].items():
                if not Path(v).exists():
                    raise _err(f"{where}.files.{k}", "must name an existing file", v)
        for key in ("file", "path", "data_dir"):
            if key in item and not Path(item[key]).is_absolute():
                item[key] = str((base / item[key]).resolve())
        spec = item if len(item) > 1 else item["name"]
        out.append({"name": item["name"], "spec": spec, "splits": splits})
    return out


# ---------------------------------------------------------------------------- methods
def _methods(value) -> dict:
    if not isinstance(value, dict) or not value:
        raise _err("methods", "must be a table with at least one of probe, finetune, zeroshot", value)
    out = {}
    for name, settings in value.items():
        if name not in METHOD_SPECS:
            raise _err(f"methods.{name}", f"must name a method among {sorted(METHOD_SPECS)}", name)
        if settings is True:
            settings = {}
        if not isinstance(settings, dict):
            raise _err(f"methods.{name}", "must be a table of settings", settings)
        unknown = sorted(set(settings) - set(METHOD_SPECS[name]))
        if unknown:
            raise ExperimentError(f"The `methods.{name}` table has unknown keys {unknown}; the known "
                                  f"keys are {sorted(METHOD_SPECS[name])}.")
        s = {**METHOD_SPECS[name], **settings}
        _check_method(name, s)
        out[name] = s
    return out


def _pos_int(where, v, allow_none=False):
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _err(where, "must be a positive integer" + (" or absent" if allow_none else ""), v)


def _check_method(name: str, s: dict) -> None:
    w = f"methods.{name}"
    if s.get("seeds") is not None:
        s["seeds"] = parse_seeds(s["seeds"], f"{w}.seeds")
    _pos_int(f"{w}.batch_size", s["batch_size"]) if not isinstance(s["batch_size"], list) else \
        [_pos_int(f"{w}.batch_size", b) for b in s["batch_size"]]
    if name == "probe":
        if s["word_pooling"] not in ("first", "mean"):
            raise _err(f"{w}.word_pooling", "must be 'first' or 'mean'", s["word_pooling"])
        if s["pooling"] not in ("cls", "mean"):
            raise _err(f"{w}.pooling", "must be 'cls' or 'mean'", s["pooling"])
        if s["layers"] != "all":
            if not isinstance(s["layers"], list) or not s["layers"] or any(
                    isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in s["layers"]):
                raise _err(f"{w}.layers", "must be 'all' or a non-empty list of layer indices >= 0", s["layers"])
        C = s["C"] if isinstance(s["C"], list) else [s["C"]]
        if not C or any(isinstance(c, bool) or not isinstance(c, (int, float)) or c <= 0 for c in C):
            raise _err(f"{w}.C", "must be a positive number or a non-empty list of them", s["C"])
        s["C"] = [float(c) for c in C]
        if isinstance(s["folds"], bool) or not isinstance(s["folds"], int) or s["folds"] < 2:
            raise _err(f"{w}.folds", "must be an integer >= 2", s["folds"])
        _pos_int(f"{w}.max_train", s["max_train"], allow_none=True)
        _pos_int(f"{w}.max_eval", s["max_eval"], allow_none=True)
        _pos_int(f"{w}.max_length", s["max_length"])
        if s["layers"] == "all":
            s["layers"] = None
    elif name == "finetune":
        for k, lo, hi in (("learning_rate", 0, 1), ("warmup", 0, 1), ("weight_decay", 0, 10)):
            vals = s[k] if isinstance(s[k], list) else [s[k]]
            if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v < hi
                               or (k == "learning_rate" and v <= 0) for v in vals):
                raise _err(f"{w}.{k}", f"must be a number in [{lo}, {hi}) or a list of them", s[k])
        vals = s["epochs"] if isinstance(s["epochs"], list) else [s["epochs"]]
        if not vals or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in vals):
            raise _err(f"{w}.epochs", "must be a positive number or a list of them", s["epochs"])
        mt = s["max_train"] if isinstance(s["max_train"], list) else [s["max_train"]]
        for v in mt:
            _pos_int(f"{w}.max_train", v, allow_none=True)
        _pos_int(f"{w}.max_eval", s["max_eval"], allow_none=True)
        if not isinstance(s["save_weights"], bool):
            raise _err(f"{w}.save_weights", "must be true or false", s["save_weights"])
    elif name == "zeroshot":
        _pos_int(f"{w}.max_eval", s["max_eval"], allow_none=True)
        if not isinstance(s["options"], dict):
            raise _err(f"{w}.options", "must be a table of keyword arguments for the scorer", s["options"])


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
    >>> exp.methods["probe"]["pooling"], exp.checkpoints[0]["pretrain_seed"]
    ('cls', 0)
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"The experiment file {str(p)!r} does not exist.")
    try:
        cfg = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ExperimentError(f"The experiment file {str(p)!r} is not valid TOML: {e}") from e
    cfg.setdefault("name", p.stem)
    return Experiment.from_dict(cfg, base_dir=p.parent.resolve())
