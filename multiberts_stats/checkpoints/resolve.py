"""Where a checkpoint's files are: its own folder, a local mirror, the Hugging Face cache, or the
hub (see :mod:`multiberts_stats.checkpoints`).

Nothing here imports torch or transformers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import (
    Checkpoint,
    CheckpointError,
    CheckpointLoadError,
    CheckpointNotFoundError,
    custom_family,
)

__all__ = [
    "CHECKPOINT_ROOT_ENV",
    "DEFAULT_MAX_LENGTH",
    "HUB_ALLOW_PATTERNS",
    "TOKENIZER_FILES",
    "WEIGHT_FILES",
    "Resolved",
    "hub_offline",
    "locate",
    "mirror_roots",
    "resolve_checkpoint",
    "weight_files",
]

#: environment variable naming the local mirror root(s), separated by ``os.pathsep``
CHECKPOINT_ROOT_ENV = "MULTIBERTS_CHECKPOINT_ROOT"

# Files fetched from the hub: configs, vocabularies, tokenizer files and weights, never TF/Flax.
HUB_ALLOW_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "*.bin"]
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
DEFAULT_MAX_LENGTH = 512


# --------------------------------------------------------------------------------------------
# resolution
# --------------------------------------------------------------------------------------------
def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE")


def hub_offline() -> bool:
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        return True
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except Exception:  # pragma: no cover - huggingface_hub is a dependency of transformers
        return False


def mirror_roots(checkpoint_root) -> list[Path]:
    if checkpoint_root is None:
        env = os.environ.get(CHECKPOINT_ROOT_ENV, "")
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    if isinstance(checkpoint_root, (str, os.PathLike)):
        return [Path(checkpoint_root).expanduser()]
    return [Path(p).expanduser() for p in checkpoint_root]


def _cache_dir(cache_dir) -> str:
    if cache_dir is not None:
        return str(cache_dir)
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def weight_files(folder: Path) -> list[Path]:
    return [folder / f for f in WEIGHT_FILES if (folder / f).is_file()]


def _check_folder(folder: Path, what: str) -> None:
    """A folder that is there must be a checkpoint: config.json and a weights file."""
    problems = []
    if not (folder / "config.json").is_file():
        problems.append("no config.json")
    if not weight_files(folder):
        problems.append(f"no weights file (looked for {', '.join(WEIGHT_FILES)})")
    if problems:
        present = sorted(p.name for p in folder.iterdir())[:20] if folder.is_dir() else []
        raise CheckpointLoadError(
            f"The checkpoint folder {folder} ({what}) is incomplete: {'; '.join(problems)}. "
            f"It holds: {present or 'nothing'}.")


@dataclass
class Resolved:
    folder: Path
    source: str  # "path" | "mirror" | "cache" | "hub"
    commit: str | None = None
    looked: list[str] = field(default_factory=list)


def _commit_of(folder: Path) -> str | None:
    if folder.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", folder.name):
        return folder.name
    return None


def locate(ckpt: Checkpoint | str, checkpoint_root=None, cache_dir=None,
             local_files_only: bool | None = None) -> Resolved:
    if isinstance(ckpt, (str, os.PathLike)):
        ckpt = custom_family("adhoc", [ckpt])[0]
    if not isinstance(ckpt, Checkpoint):
        raise CheckpointError("The `ckpt` parameter must be a Checkpoint, a hub id or a folder. "
                              f"Got {ckpt!r} ({type(ckpt).__name__}) instead.")
    if ckpt.path is not None:
        folder = Path(ckpt.path)
        if not folder.is_dir():
            raise CheckpointNotFoundError(
                f"The checkpoint folder {folder} (family {ckpt.family!r}, seed {ckpt.seed}, step "
                f"{ckpt.step}) does not exist.")
        _check_folder(folder, f"family {ckpt.family!r}, seed {ckpt.seed}, step {ckpt.step}")
        return Resolved(folder, "path")

    hub_id, revision = ckpt.hub_id, ckpt.revision
    looked: list[str] = []
    roots = mirror_roots(checkpoint_root)
    # a revision naming a training step (the PolyPythia branches step0 ... step143000) is only
    # taken from its own <id>@<revision> folder: a plain <id> folder holds another step
    step_revision = bool(revision and re.fullmatch(r"step\d+", revision))
    for root in roots:
        candidates = ([root / f"{hub_id}@{revision}"] if revision else []) + (
            [] if step_revision else [root / hub_id])
        for cand in candidates:
            if not cand.resolve().is_relative_to(root.resolve()):
                raise CheckpointError(f"The checkpoint {hub_id!r} (revision {revision!r}) would be read "
                                      f"from {cand.resolve()}, outside the mirror root {root}; refused.")
            if cand.is_dir():
                _check_folder(cand, f"mirror of {hub_id}")
                return Resolved(cand, "mirror", looked=looked)
            looked.append(f"mirror folder {cand} (absent)")
        if step_revision and (root / hub_id).is_dir():
            looked.append(f"mirror folder {root / hub_id} (present but not used: it holds an "
                          f"unknown revision, and step revisions are read from "
                          f"{hub_id}@{revision} only)")
    if not roots:
        looked.append(f"no mirror root (pass checkpoint_root= or set {CHECKPOINT_ROOT_ENV})")

    from huggingface_hub import snapshot_download

    cache = _cache_dir(cache_dir)
    try:
        folder = Path(snapshot_download(hub_id, revision=revision, cache_dir=cache,
                                        local_files_only=True, allow_patterns=HUB_ALLOW_PATTERNS))
        if (folder / "config.json").is_file() and weight_files(folder):
            return Resolved(folder, "cache", _commit_of(folder), looked)
        looked.append(f"Hugging Face cache {cache} (snapshot {folder} lacks config.json or "
                      "weights)")
    except Exception as exc:  # LocalEntryNotFoundError, IncompleteSnapshotError, ...
        reason = "absent" if type(exc).__name__ == "LocalEntryNotFoundError" else \
            f"{type(exc).__name__}: {exc}"
        looked.append(f"Hugging Face cache {cache} ({reason})")

    offline = hub_offline() if local_files_only is None else bool(local_files_only) or hub_offline()
    if offline:
        why = "local_files_only=True" if local_files_only else "HF_HUB_OFFLINE=1"
        looked.append(f"the hub (not tried: offline, {why})")
    else:
        try:
            folder = Path(snapshot_download(hub_id, revision=revision, cache_dir=cache,
                                            allow_patterns=_download_patterns(hub_id, revision)))
            _check_folder(folder, f"download of {hub_id}")
            return Resolved(folder, "hub", _commit_of(folder), looked)
        except CheckpointError:
            raise
        except Exception as exc:
            looked.append(f"the hub ({type(exc).__name__}: {exc})")
    rev = f" at revision {revision!r}" if revision else ""
    raise CheckpointNotFoundError(
        f"Checkpoint {hub_id}{rev} (family {ckpt.family!r}, seed {ckpt.seed}, step {ckpt.step}) "
        "was not found. Looked in:\n  - " + "\n  - ".join(looked))


def _download_patterns(hub_id: str, revision: str | None) -> list[str]:
    """Fetch safetensors weights when the repo has them, else PyTorch .bin (never TF/Flax)."""
    try:
        from huggingface_hub import HfApi

        files = HfApi().list_repo_files(hub_id, revision=revision)
    except Exception:
        return HUB_ALLOW_PATTERNS
    base = ["*.json", "*.txt", "*.model"]
    if any(f.endswith(".safetensors") for f in files):
        return base + ["*.safetensors"]
    return base + ["*.bin"]


def resolve_checkpoint(ckpt: Checkpoint | str, *, checkpoint_root=None, cache_dir=None,
                       local_files_only: bool | None = None) -> Path:
    """The local folder of a checkpoint: its own path, a mirror, the HF cache, or a download.

    Parameters
    ----------
    ckpt : Checkpoint or str
        A checkpoint, or a hub id / folder (as in :func:`custom_family`).
    checkpoint_root : str, Path, list of them, or None
        Local mirror root(s) with one folder per hub id (``ROOT/google/multiberts-seed_1/``);
        default: ``$MULTIBERTS_CHECKPOINT_ROOT`` (``os.pathsep``-separated).
    cache_dir : str or Path, optional
        Hugging Face cache; default ``$HF_HUB_CACHE`` or the huggingface_hub default.
    local_files_only : bool, optional
        Never contact the hub. Default: only when ``HF_HUB_OFFLINE`` is set.

    Returns
    -------
    pathlib.Path
        A folder holding ``config.json`` and the weights.

    Raises
    ------
    CheckpointNotFoundError
        Nowhere to be found; the message names the hub id and every place looked.
    CheckpointLoadError
        A folder was found but is incomplete (no config.json or no weights file).

    Examples
    --------
    >>> import os, tempfile
    >>> from multiberts_stats.checkpoints import (CheckpointNotFoundError, multiberts,
    ...                                          resolve_checkpoint)
    >>> os.environ["HF_HUB_OFFLINE"] = "1"
    >>> ckpt = multiberts().get(0, 2000)
    >>> try:
    ...     resolve_checkpoint(ckpt, checkpoint_root=tempfile.mkdtemp())
    ... except CheckpointNotFoundError as err:
    ...     print(str(err).splitlines()[0])
    Checkpoint google/multiberts-seed_0 (family 'multiberts', seed 0, step 2000) was not found. Looked in:
    """
    return locate(ckpt, checkpoint_root, cache_dir, local_files_only).folder

