"""Checks made once per run, before any job: is every checkpoint and every task's data on this
machine, and if not, is a hub reachable? Offline, a grid of hub checkpoints fails in a second
with one message naming the options, instead of each job retrying the hub."""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlparse

from multiberts_stats.errors import EnvironmentFailure

__all__ = ["check_sources", "hub_reachable"]

logger = logging.getLogger(__name__)


def hub_reachable(timeout: float = 3.0) -> tuple[bool, str]:
    """Whether the Hugging Face hub can be reached (and why not): switched off by
    ``HF_HUB_OFFLINE``, or no TCP connection to ``$HF_ENDPOINT`` (default huggingface.co)."""
    from multiberts_stats.checkpoints import hub_offline

    if hub_offline():
        return False, "the hub is switched off (HF_HUB_OFFLINE=1)"
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except OSError as e:
        return False, f"no connection to {host}:{port} ({e.strerror or type(e).__name__})"


def _missing_checkpoints(jobs) -> list[str]:
    from multiberts_stats.checkpoints import CheckpointNotFoundError
    from multiberts_stats.checkpoints.resolve import locate

    missing, seen = [], set()
    for job in jobs:
        c = job.checkpoint
        if c.hub_id is None or c in seen:
            continue
        seen.add(c)
        try:
            locate(c.to_catalog(), c.checkpoint_root, None, True)
        except CheckpointNotFoundError:
            missing.append(c.where)
        except Exception:  # noqa: BLE001 - a broken local copy is the job's own (clear) error
            continue
    return missing


def _remote_data(jobs) -> list[str]:
    from .loading import resolve_task

    out, seen = [], set()
    for job in jobs:
        spec = job.task
        ident = repr(spec)
        if ident in seen:
            continue
        seen.add(ident)
        try:
            source = str(resolve_task(spec).data_source())
        except Exception:  # noqa: BLE001 - reported by the job itself
            continue
        if source.startswith(("hub ", "download ", "offline")) or "(offline" in source:
            out.append(f"{job.task_name} ({source})")
    return out


def check_sources(jobs) -> None:
    """Raise one :class:`EnvironmentFailure` when some checkpoints or task data exist only on
    the hub and no hub is reachable; a no-op when everything is local or the hub answers."""
    missing = _missing_checkpoints(jobs)
    remote = _remote_data(jobs)
    if not missing and not remote:
        return
    ok, why = hub_reachable()
    if ok:
        return
    parts = []
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        parts.append(f"{len(missing)} checkpoint(s) are on no local path, mirror or cache ({shown}); "
                     "give a mirror with `checkpoint_root = ...` in the experiment or "
                     "$MULTIBERTS_CHECKPOINT_ROOT (one folder per hub id, ROOT/google/multiberts-seed_0/), "
                     "or fill the Hugging Face cache")
    if remote:
        parts.append(f"the data of {', '.join(remote[:3])} would come from the network; give a local "
                     "copy with the task's `data_dir` or $MULTIBERTS_STATS_DATA")
    raise EnvironmentFailure(f"No hub is reachable ({why}), so this run cannot start: "
                             + "; ".join(parts) + ".")
