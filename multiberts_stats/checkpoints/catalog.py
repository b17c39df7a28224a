"""The checkpoint catalog: :class:`Checkpoint`, :class:`Family`, the MultiBERTs family, any
other family, and the one selector grammar for seeds and steps (:func:`parse_selector`).

Nothing here imports torch or transformers.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from multiberts_stats.errors import InputError

__all__ = [
    "catalog_family",
    "MULTIBERTS_FINAL_STEP",
    "MULTIBERTS_INTERMEDIATE_SEEDS",
    "MULTIBERTS_SEEDS",
    "MULTIBERTS_STEPS",
    "Checkpoint",
    "CheckpointError",
    "CheckpointLoadError",
    "CheckpointNotFoundError",
    "CheckpointSelectionError",
    "Family",
    "compress_ints",
    "custom_family",
    "expand_selector",
    "is_int",
    "multiberts",
    "multiberts_hub_id",
    "parse_selector",
]

CHECKPOINT_ROOT_ENV = "MULTIBERTS_CHECKPOINT_ROOT"

#: the 25 MultiBERTs pretraining seeds
MULTIBERTS_SEEDS: tuple[int, ...] = tuple(range(25))
#: the seeds with intermediate pretraining checkpoints
MULTIBERTS_INTERMEDIATE_SEEDS: tuple[int, ...] = tuple(range(5))
#: the 29 released steps (thousands) of seeds 0-4: 0, 20, ..., 200, 300, ..., 2000
MULTIBERTS_STEPS: tuple[int, ...] = tuple(range(0, 201, 20)) + tuple(range(300, 2001, 100))
#: the final step (thousands) of every seed
MULTIBERTS_FINAL_STEP = 2000


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
class CheckpointError(InputError):
    """Base class of the errors of this module."""

    __module__ = "multiberts_stats.checkpoints"


class CheckpointSelectionError(CheckpointError):
    """A selection (seeds, steps) names checkpoints that the family does not have."""

    __module__ = "multiberts_stats.checkpoints"


class CheckpointNotFoundError(CheckpointError):
    """A checkpoint is in none of the places looked (its own folder, mirror, cache, hub)."""

    __module__ = "multiberts_stats.checkpoints"


class CheckpointLoadError(CheckpointError):
    """A checkpoint folder cannot be loaded faithfully (missing/corrupt weights, config mismatch)."""

    __module__ = "multiberts_stats.checkpoints"


# --------------------------------------------------------------------------------------------
# Checkpoint and Family
# --------------------------------------------------------------------------------------------
_HUB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?")


def is_int(x: Any) -> bool:
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
            if not is_int(value) or value < 0:
                raise CheckpointError(f"The `{name}` of a Checkpoint must be a non-negative "
                                      f"integer. Got {value!r} instead.")
            object.__setattr__(self, name, int(value))
        if self.path is not None:
            object.__setattr__(self, "path", str(self.path))
        if self.hub_id is not None and (not isinstance(self.hub_id, str)
                                        or not _HUB_ID_RE.fullmatch(self.hub_id) or ".." in self.hub_id):
            raise CheckpointError(
                "The `hub_id` of a Checkpoint must be a hub repository id, `name` or `org/name` "
                "(letters, digits, '-', '_', '.'; no '..', not a path). Got "
                f"{self.hub_id!r} instead (a local folder goes in `path`).")
        if self.revision is not None and (
                not isinstance(self.revision, str) or not self.revision or self.revision.startswith("/")
                or ".." in self.revision.split("/") or "\\" in self.revision):
            raise CheckpointError(f"The `revision` of a Checkpoint must be a branch, tag or commit "
                                  f"(no '..' part, not an absolute path). Got {self.revision!r} instead.")

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


def compress_ints(values: Iterable[int]) -> str:
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


def parse_selector(value: Any, what: str, caller: str,
                   noun: str = "parameter") -> list[tuple[int, int]] | None:
    """Parse a seeds/steps selector into a list of inclusive (low, high) intervals; None = all.

    Accepts None / "all" / "*", an int, a string like ``"0-4"``, ``"0,200,2000"``, ``"0-4,9"``,
    or an iterable of ints and such strings.
    """
    rule = (f"The `{what}` {noun} of {caller} must be an integer, a list of integers, or a "
            f"string like \"0-4\" (or \"0..4\", \"0:4\"), \"0,200,2000\" or \"all\"")
    if value is None:
        return None
    if is_int(value):
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
            parsed = parse_selector(item, what, caller, noun)
            if parsed is None:
                return None
            out.extend(parsed)
        if not out:
            raise CheckpointSelectionError(f"{rule}. Got an empty selection {value!r} instead.")
        return out
    raise CheckpointSelectionError(f"{rule}. Got {value!r} ({type(value).__name__}) instead.")


def expand_selector(value: Any, what: str, caller: str, *, allow_all: bool = True,
                    noun: str = "parameter") -> list[int] | None:
    """The integers a selector names, sorted and distinct; ``None`` for "all".

    The one grammar for seeds and steps everywhere (catalog families, folder families,
    fine-tuning seeds): an integer, a list of integers, or a string of comma-separated items,
    each an integer or a range ``low-high`` / ``low..high`` / ``low:high`` (both ends included),
    or ``"all"`` (refused when ``allow_all`` is False).

    Examples
    --------
    >>> expand_selector("0-2,5", "seeds", "f"), expand_selector("0..2", "seeds", "f")
    ([0, 1, 2, 5], [0, 1, 2])
    >>> expand_selector([3, "0:1"], "seeds", "f"), expand_selector("all", "seeds", "f")
    ([0, 1, 3], None)
    """
    iv = parse_selector(value, what, caller, noun)
    if iv is None:
        if not allow_all:
            raise CheckpointSelectionError(
                f"The `{what}` {noun} of {caller} must name integers (a list, or a string like "
                f"\"0-4\"); \"all\" has no meaning here. Got {value!r} instead.")
        return None
    out: set[int] = set()
    for lo, hi in iv:
        out.update(range(lo, hi + 1))
    return sorted(out)


def _nearest(step: int, released) -> str:
    """The released steps just below and above ``step``, e.g. ``"1000 and 2000"``."""
    below = [s for s in released if s < step]
    above = [s for s in released if s > step]
    near = ([max(below)] if below else []) + ([min(above)] if above else [])
    return " and ".join(map(str, near)) or "none"


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
        return (f"Family({self.name!r}, {len(self)} checkpoints, seeds {compress_ints(self.seeds)}, "
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
        >>> print(multiberts().availability())  # doctest: +NORMALIZE_WHITESPACE
        seeds 0-4: steps 0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 300, 400, 500, 600, 700,
        800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000
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
            lines.append(f"{s_word} {compress_ints(seeds)}: {t_word} {', '.join(map(str, steps))}")
        return "\n".join(lines)

    # -- selection -----------------------------------------------------------------------
    def select(self, seeds: Any = None, steps: Any = None, *, strict: bool = True,
               unique: bool = True) -> Family:
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
        >>> fam.select(seeds=7, steps=200)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        multiberts_stats.checkpoints.CheckpointSelectionError: The multiberts family has no
        checkpoint for (seed, step) (7, 200).
        What exists:
        seeds 0-4: steps 0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 300, 400, 500, 600, 700,
        800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000
        seeds 5-24: step 2000
        """
        caller = "Family.select"
        seed_iv = parse_selector(seeds, "seeds", caller)
        step_iv = parse_selector(steps, "steps", caller)
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
                    f"({compress_ints(have_seeds)}). Got {seeds!r}, which names missing seed(s) "
                    f"{compress_ints(missing)}, instead.{what_exists}")
        want_steps: set[int] | None = None
        if step_iv is not None:
            want_steps = set()
            for lo, hi in step_iv:
                if lo == hi:
                    if lo not in have_steps:
                        raise CheckpointSelectionError(
                            f"The `steps` parameter of {caller} must name steps ({self.step_unit}) "
                            f"of the {self.name} family. Got {steps!r}, which names step {lo} that "
                            f"was never released (nearest released: "
                            f"{_nearest(lo, have_steps)}), instead.{what_exists}")
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


def catalog_family(name: str) -> Family:
    """A built-in family by name: ``"multiberts"`` or a PolyPythia family.

    PolyPythia names: ``polypythia-{14m,31m,70m,160m,410m}``, ``polypythia-160m-data-seed``,
    ``polypythia-160m-weight-seed`` (:func:`multiberts_stats.checkpoints.polypythia.polypythia`).

    Examples
    --------
    >>> len(catalog_family("multiberts")), len(catalog_family("polypythia-160m-data-seed"))
    (170, 616)
    """
    from .polypythia import POLYPYTHIA_FAMILIES, polypythia

    if name == "multiberts":
        return multiberts()
    if name in POLYPYTHIA_FAMILIES:
        return polypythia(*POLYPYTHIA_FAMILIES[name])
    raise CheckpointSelectionError(
        "The `name` parameter of catalog_family must name a built-in family "
        f"({', '.join(['multiberts', *POLYPYTHIA_FAMILIES])}). Got {name!r} instead.")


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
        if step_raw is None and is_int(step):
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

