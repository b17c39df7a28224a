"""BLiMP (Warstadt et al., 2020): grammatical minimal pairs, one task per paradigm and an aggregate.

Data: the published JSONL files, one per paradigm (``<UID>.jsonl``, 1,000 pairs, fields
``sentence_good``, ``sentence_bad``, ``UID``, ``pairID``, ``field``, ``linguistics_term``, ...),
from ``<root>/blimp/`` or ``<root>/`` (``<root>`` = ``data_dir`` or ``$MULTIBERTS_STATS_DATA``),
else downloaded once per paradigm from the authors' repository (alexwarstadt/blimp) when the
network is allowed.

Tasks (zero-shot, :mod:`multiberts_stats.tasks.minimal_pairs`): ``blimp_<UID>`` for each of the
six paradigms kept in the project's shared data (:data:`BLIMP_PARADIGMS`), any other paradigm
through :func:`blimp_task`, and ``blimp``: every paradigm file found in the folder (or those named
by ``paradigms=``) pooled, with the paradigm (``UID``) as the resampling cluster. Rows:
``example_id`` = ``<UID>-<pairID>``, ``sentence_good`` (expected), ``sentence_bad``, ``label`` = 1,
``cluster``, ``UID``, ``field``, ``linguistics_term``, ``pairID``. The metric ``accuracy`` is
BLiMP's: the share of pairs whose good sentence gets the higher log-likelihood.

Examples
--------
>>> from multiberts_stats.tasks.blimp import blimp_task
>>> t = blimp_task("anaphor_number_agreement", data_dir="../shared/data")
>>> ex = t.load()
>>> len(ex), ex["example_id"][0], ex["sentence_good"][0]
(1000, 'anaphor_number_agreement-0', 'Susan revealed herself.')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .base import (
    DataNotFoundError,
    TaskError,
    data_roots,
    fetch_published_file,
    first_existing,
    hub_allowed,
)
from .minimal_pairs import MinimalPairTask
from .readers import read_table

__all__ = ["BLIMP", "BLIMP_PARADIGMS", "BLIMP_TASKS", "BlimpTask", "blimp_task"]

#: the paradigms kept in the project's shared data (BLiMP has 67)
BLIMP_PARADIGMS = ("anaphor_number_agreement", "determiner_noun_agreement_1",
                   "irregular_past_participle_verbs", "npi_present_1",
                   "regular_plural_subject_verb_agreement_1", "wh_questions_object_gap")
REMOTE = "https://raw.githubusercontent.com/alexwarstadt/blimp/master/data/"
_GROUPS = ("UID", "field", "linguistics_term")




@dataclass
class BlimpTask(MinimalPairTask):
    """BLiMP paradigm(s) (see the module docstring).

    ``paradigms``: the UIDs to load; empty for the aggregate = every ``*.jsonl`` in the folder.
    """

    paradigms: tuple = field(default=())

    def __post_init__(self):
        if isinstance(self.paradigms, str):
            self.paradigms = (self.paradigms,)
        self.paradigms = tuple(self.paradigms)
        super().__post_init__()

    def _folder(self, data_dir) -> tuple[Path | None, list[Path]]:
        roots = data_roots(data_dir)
        probe = f"{self.paradigms[0]}.jsonl" if self.paradigms else ""
        rels = [f"blimp/{probe}", probe] if probe else ["blimp"]
        path, looked = first_existing(roots, rels)
        if path is None and not probe:  # the aggregate: a folder that itself holds BLiMP files
            for root in roots:
                if any(root.glob("*.jsonl")) and not (root / "blimp").is_dir():
                    return root, looked
        if path is None:
            return None, looked
        return (path if path.is_dir() else path.parent), looked

    def data_source(self, data_dir=None) -> str:
        folder, _ = self._folder(data_dir if data_dir is not None else self.data_dir)
        if folder is not None:
            return str(folder)
        return (f"download {REMOTE}" if hub_allowed() and self.paradigms
                else "offline: set $MULTIBERTS_STATS_DATA or data_dir")

    def _files(self, data_dir) -> list[Path]:
        folder, looked = self._folder(data_dir)
        if self.paradigms:
            out = []
            for uid in self.paradigms:
                p = folder / f"{uid}.jsonl" if folder is not None else None
                out.append(p if p is not None and p.is_file() else _download(uid, looked))
            return out
        if folder is None:
            where = "; ".join(map(str, looked)) or "no local folder (pass data_dir= or set " \
                                                    "$MULTIBERTS_STATS_DATA)"
            raise DataNotFoundError(
                f"No BLiMP data for the task {self.name!r}: looked for a blimp/ folder of "
                f"<paradigm>.jsonl files at {where}. The aggregate pools the files it finds; "
                "name paradigms (blimp_task(...)) to download them.")
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise DataNotFoundError(f"No BLiMP paradigm file (*.jsonl) in {folder} for the task "
                                    f"{self.name!r}.")
        return files

    def _load(self, split, data_dir):
        frames = []
        for path in self._files(data_dir):
            raw = read_table(path, "jsonl")
            for c in ("UID", "pairID"):
                if c not in raw.columns:
                    raise TaskError(f"Task {self.name!r}: the BLiMP file {path} lacks the "
                                    f"column {c!r} of the published format (sentence_good, "
                                    "sentence_bad, UID, pairID, ...); the columns found are "
                                    f"{[x for x in raw.columns if x != '_line']}.")
            raw["example_id"] = raw["UID"].astype(str) + "-" + raw["pairID"].astype(str)
            for c in _GROUPS:
                if c not in raw.columns:
                    raw[c] = ""
            df = self._pairs_frame(raw, str(path))
            frames.append(df)
        out = pd.concat(frames, ignore_index=True)
        out.attrs["source"] = (frames[0].attrs.get("source") if len(frames) == 1
                               else f"{len(frames)} BLiMP files in {Path(frames[0].attrs['source']).parent}")
        return out


def _download(uid: str, looked) -> Path:
    return fetch_published_file(f"{REMOTE}{uid}.jsonl", "blimp", f"{uid}.jsonl", looked,
                                what=f"BLiMP ({uid})", folder_hint=f"blimp/{uid}.jsonl")


def blimp_task(paradigms=None, *, name: str | None = None, data_dir=None,
               scoring: str = "auto") -> BlimpTask:
    """A BLiMP task: one paradigm (unit = the pair), several or all (unit = the paradigm).

    Parameters
    ----------
    paradigms : str, list of str or None
        BLiMP UIDs (file names without ``.jsonl``); None = every file of the folder.
    name : str, optional
        Task name (default ``blimp_<UID>`` for one paradigm, ``blimp`` otherwise).
    """
    if paradigms is None:
        uids: tuple = ()
    elif isinstance(paradigms, str):
        uids = (paradigms,)
    else:
        uids = tuple(str(p) for p in paradigms)
        if not uids:
            raise TaskError("The `paradigms` parameter of blimp_task must name at least one "
                            "paradigm, or be None for every file. Got an empty list.")
    single = len(uids) == 1
    return BlimpTask(
        name=name or (f"blimp_{uids[0]}" if single else "blimp"), kind="minimal_pairs",
        metrics=("accuracy",), unit="example" if single else "UID", splits=("test",),
        default_split="test", split_aliases={"validation": "test", "all": "test"},
        paths={"test": "blimp"}, expected_column="sentence_good", other_column="sentence_bad",
        id_column="example_id", group_columns=_GROUPS, scoring=scoring, data_dir=data_dir,
        paradigms=uids,
        description=(f"BLiMP paradigm {uids[0]}: share of pairs whose good sentence scores higher"
                     if single else "BLiMP paradigms pooled (clusters = paradigms)"))


BLIMP_TASKS = [blimp_task(uid) for uid in BLIMP_PARADIGMS]
BLIMP = blimp_task(None)
