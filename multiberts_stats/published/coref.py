"""Coreference (Winogender): the reader of the published coreference predictions (one folder
per group with ``run_info.tsv``, ``label_info.tsv``, ``preds.tsv``; Winogender's
``occupations-stats.tsv``), into matrices (:class:`CorefGroup`, :meth:`CorefGroup.to_runs`)
or the tidy table (:func:`read_coref`), the per-occupation bias scores of the published
notebook, and the 720-row ``label_info`` built from Winogender's own files."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from multiberts_stats.errors import DataWarning
from multiberts_stats.table import MatrixRuns

from .formats import (
    PublishedFormatError,
    int_column,
    null_int_column,
    read_tsv,
    repeat_str,
    require_dir,
    require_file,
)

__all__ = [
    "COREF_FAMILIES",
    "COREF_GROUPS",
    "COREF_STEPS",
    "LABEL_INFO_COLUMNS",
    "CorefGroup",
    "coref_bias_scores",
    "coref_table",
    "find_occupations",
    "load_coref_group",
    "read_coref",
    "read_occupations",
    "winogender_example_ids",
    "winogender_label_info",
]

COREF_GROUPS = ("base", "base_extra_seeds", "cda_intervention-50k", "from_scratch")
LABEL_INFO_COLUMNS = ("gender", "pronoun_type", "answer", "occupation", "other_participant",
                      "someone", "template_idx")

# published coreference group -> tidy `family`
COREF_FAMILIES = {
    "base": "multiberts",
    "base_extra_seeds": "multiberts-extra_finetune_seeds",
    "cda_intervention-50k": "multiberts-cda_intervention-50k",
    "from_scratch": "multiberts-cda_from_scratch",
}
# pretraining steps (thousands) of each coreference group: the CDA intervention continues each
# 2M-step checkpoint for 50k steps; from_scratch is taken to follow the 2M-step MultiBERTs recipe
# (the published files do not record it)
COREF_STEPS = {"base": 2000, "base_extra_seeds": 2000, "cda_intervention-50k": 2050,
               "from_scratch": 2000}
_GENDER_WORD = {"MASCULINE": "male", "FEMININE": "female", "UNKNOWN": "neutral"}



@dataclass
class CorefGroup:
    """One published coreference group, as the files hold it.

    Attributes
    ----------
    name : str
        Folder name (``base``, ``cda_intervention-50k``, ...).
    path : Path
    run_info : DataFrame
        ``pretrain_seed``, ``finetune_seed`` (int64), one row per run in file order; the
        published index column is kept as the index.
    label_info : DataFrame
        720 rows in file order (``gender``, ``answer``, ``occupation``, ...).
    preds : ndarray, shape (n_runs, n_examples)
        Row *i* belongs to ``run_info.iloc[i]``.
    """

    name: str
    path: Path
    run_info: pd.DataFrame
    label_info: pd.DataFrame
    preds: np.ndarray

    @property
    def n_runs(self) -> int:
        return self.preds.shape[0]

    def to_runs(self, occupations: pd.Series | None = None) -> MatrixRuns:
        """The group as a :class:`~multiberts_stats.table.MatrixRuns`, straight from the files:
        ``run_info`` (``pretrain_seed``, ``finetune_seed``, ``group``; file order), ``preds``,
        ``labels`` = ``answer``, the Winogender sentence ids as ``example_ids``, and the
        per-example ``gender``, ``occupation`` (and ``bls_pct_female`` when ``occupations``,
        ``occupation -> percent``, is given), so the engine's ``winogender_bias_r`` and
        ``cluster_col="occupation"`` read it directly.

        Examples
        --------
        >>> import tempfile
        >>> from multiberts_stats.testing import write_example_release
        >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
        >>> load_coref_group(root / "coref" / "base").to_runs()
        MatrixRuns(runs=10, examples=720, columns=['gender', 'occupation'])
        """
        li = self.label_info
        occ = li["occupation"].astype(str).to_numpy(dtype=object)
        columns = {"gender": li["gender"].astype(str).to_numpy(dtype=object), "occupation": occ}
        if occupations is not None:
            missing = sorted(set(occ) - set(occupations.index))
            if missing:
                raise PublishedFormatError(f"The occupations-stats file has no `bls_pct_female` "
                                           f"for the occupation(s) {missing[:5]} of {self.path}.")
            columns["bls_pct_female"] = occupations.reindex(occ).to_numpy(dtype=np.float64)
        run_info = self.run_info.reset_index(drop=True)[["pretrain_seed", "finetune_seed"]]
        run_info = run_info.assign(group=self.name)
        return MatrixRuns(run_info, self.preds.astype(np.float64),
                          li["answer"].to_numpy(dtype=np.float64), winogender_example_ids(li),
                          columns=columns)

    def __repr__(self) -> str:
        seeds = sorted(set(self.run_info["pretrain_seed"]))
        return (f"CorefGroup({self.name!r}, runs={self.n_runs}, examples={self.preds.shape[1]}, "
                f"pretrain_seeds={seeds})")


def _check_run_index(run_info: pd.DataFrame, path: Path, allow_gaps: bool) -> None:
    """The leading index column of ``run_info.tsv``: integers, each once, no gaps."""
    raw = pd.Series(run_info.index)
    vals = pd.to_numeric(raw, errors="coerce")
    bad = vals.isna() | (np.mod(vals.fillna(0.5), 1) != 0)
    if bad.any():
        raise PublishedFormatError(
            f"The leading index column of the run_info file {str(path)!r} must hold integer row "
            f"numbers (it is how a lost row is noticed). Got {raw[bad].head(3).tolist()} instead.")
    v = vals.to_numpy().astype(np.int64)
    u, cnt = np.unique(v, return_counts=True)
    if (cnt > 1).any():
        raise PublishedFormatError(
            f"The leading index column of the run_info file {str(path)!r} lists the row number(s) "
            f"{u[cnt > 1][:5].tolist()} more than once.")
    missing = np.setdiff1d(np.arange(u[0], u[-1] + 1), u)
    if missing.size == 0:
        return
    msg = (f"The leading index column of the run_info file {str(path)!r} has gaps: "
           f"{missing.size} row number(s) between {int(u[0])} and {int(u[-1])} are missing "
           f"(e.g. {missing[:5].tolist()}). A row of run_info.tsv was lost, so the rows of "
           "preds.tsv can no longer be matched to runs by position: if preds.tsv lost a "
           "different row, the row counts still agree and runs get other runs' predictions. "
           "Restore both files from the release; pass allow_index_gaps=True only if the same "
           "runs were removed from both files together.")
    if not allow_gaps:
        raise PublishedFormatError(msg)
    warnings.warn(msg, DataWarning, stacklevel=3)


def load_coref_group(folder, name: str | None = None, *,
                     allow_index_gaps: bool = False) -> CorefGroup:
    """Read one coreference group folder (``run_info.tsv``, ``label_info.tsv``, ``preds.tsv``).

    Rows of ``preds.tsv`` are aligned with rows of ``run_info.tsv`` by position in the files
    (the published convention); seeds come from the ``pretrain_seed`` / ``finetune_seed``
    columns, never from the row order.

    Parameters
    ----------
    folder : path
        The group folder.
    name : str, optional
        The group's name (default: the folder's).
    allow_index_gaps : bool
        The leading index column of ``run_info.tsv`` numbers its rows; a gap in those numbers
        means a row was lost, and since ``preds.tsv`` is matched by position, a file that lost a
        different row would load misaligned with equal row counts. A gap is therefore an error;
        True makes it a :class:`~multiberts_stats.errors.DataWarning` (for runs deliberately
        removed from both files). A row lost at either end of the numbering leaves no gap and
        is caught only by the row counts.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=3)
    >>> load_coref_group(root / "coref" / "base")
    CorefGroup('base', runs=15, examples=720, pretrain_seeds=[0, 1, 2])
    """
    folder = require_dir(folder, "coreference group")
    name = name or folder.name
    ri_path, li_path, pr_path = (folder / "run_info.tsv", folder / "label_info.tsv",
                                 folder / "preds.tsv")
    run_info = read_tsv(ri_path, "run_info", ("pretrain_seed", "finetune_seed"))
    run_info = run_info.copy()
    for col in ("pretrain_seed", "finetune_seed"):
        run_info[col] = int_column(run_info, col, ri_path, "run_info")
    label_info = read_tsv(li_path, "label_info", LABEL_INFO_COLUMNS)
    require_file(pr_path, "preds")
    try:
        preds = np.loadtxt(pr_path, ndmin=2)
    except ValueError as exc:
        raise PublishedFormatError(f"The preds file {str(pr_path)!r} must be a whitespace-"
                                   f"separated numeric matrix (runs x examples): {exc}") from exc
    if preds.shape[0] != len(run_info):
        raise PublishedFormatError(
            f"The preds file {str(pr_path)!r} has {preds.shape[0]} rows but the run_info file "
            f"{str(ri_path)!r} has {len(run_info)}: each row of preds.tsv must be the run of the "
            "same row of run_info.tsv.")
    if preds.shape[1] != len(label_info):
        raise PublishedFormatError(
            f"The preds file {str(pr_path)!r} has {preds.shape[1]} columns but the label_info "
            f"file {str(li_path)!r} has {len(label_info)} rows: each column of preds.tsv must be "
            "the example of the same row of label_info.tsv.")
    bad = ~np.isin(preds, (0, 1))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise PublishedFormatError(f"The preds file {str(pr_path)!r} must hold 0 (occupation) or "
                                   f"1 (other participant). Got {preds[i, j]!r} at row {i}, "
                                   f"column {j} instead.")
    _check_run_index(run_info, ri_path, allow_index_gaps)
    dup = run_info.duplicated(["pretrain_seed", "finetune_seed"])
    if dup.any():
        r = run_info[dup].iloc[0]
        raise PublishedFormatError(f"The run_info file {str(ri_path)!r} lists the run "
                                   f"(pretrain_seed={r.pretrain_seed}, finetune_seed="
                                   f"{r.finetune_seed}) more than once.")
    return CorefGroup(name, folder, run_info, label_info, preds)


def read_occupations(path) -> pd.Series:
    """``occupation -> bls_pct_female`` (percent) from Winogender's ``occupations-stats.tsv``.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> read_occupations(root / "coref" / "occupations-stats.tsv")["nurse"]
    np.float64(89.58)
    """
    path = Path(path)
    df = read_tsv(path, "occupations-stats", ("occupation", "bls_pct_female"), index_col=None)
    s = pd.to_numeric(df["bls_pct_female"], errors="coerce")
    if s.isna().any():
        raise PublishedFormatError(f"The `bls_pct_female` column of {str(path)!r} must be "
                                   f"numeric. Got {df['bls_pct_female'][s.isna()].head(3).tolist()}.")
    out = pd.Series(s.to_numpy(float), index=df["occupation"].astype(str), name="bls_pct_female")
    return out


def _coref_groups_arg(root: Path, groups) -> list[str]:
    if groups is None:
        found = [g for g in COREF_GROUPS if (root / g).is_dir()]
        if not found:
            raise PublishedFormatError(
                f"The coreference folder {str(root)!r} holds none of the published groups "
                f"{list(COREF_GROUPS)}.")
        return found
    if isinstance(groups, str):
        groups = [groups]
    return list(groups)


def find_occupations(root: Path, occupations) -> pd.Series | None:
    """``occupations`` as ``occupation -> bls_pct_female``: a Series as it is, a path read
    with :func:`read_occupations`, or (None) ``occupations-stats.tsv`` looked for in ``root``
    and its parent (None when there is none)."""
    if occupations is None:
        for cand in (root / "occupations-stats.tsv", root.parent / "occupations-stats.tsv"):
            if cand.is_file():
                return read_occupations(cand)
        return None
    if isinstance(occupations, pd.Series):
        return occupations
    return read_occupations(occupations)


def winogender_example_ids(label_info: pd.DataFrame) -> np.ndarray:
    """Winogender sentence ids (``occupation.participant.answer.gender.txt``) when unique."""
    someone = label_info["someone"].astype(str).str.lower().isin(("true", "1"))
    participant = np.where(someone, "someone", label_info["other_participant"].astype(str))
    gender = label_info["gender"].astype(str).map(_GENDER_WORD).fillna(
        label_info["gender"].astype(str).str.lower())
    ids = (label_info["occupation"].astype(str) + "." + participant + "."
           + label_info["answer"].astype(str) + "." + gender + ".txt").to_numpy(dtype=object)
    if len(set(ids)) != len(ids):
        ids = np.array([f"row_{i}" for i in label_info.index], dtype=object)
    return ids


def coref_table(group: CorefGroup, occ: pd.Series | None) -> pd.DataFrame:
    """The tidy table of one group (see :func:`read_coref` for the columns); ``occ`` adds
    ``bls_pct_female``."""
    li = group.label_info
    n_runs, n_ex = group.preds.shape
    ri = group.run_info
    seeds = ri["pretrain_seed"].to_numpy()
    step = COREF_STEPS.get(group.name, 2000)
    if group.name in ("base", "base_extra_seeds"):
        ckpts = [f"google/multiberts-seed_{s}" for s in seeds]
    else:
        ckpts = [f"{group.name}/seed_{s}" for s in seeds]
    someone = li["someone"].astype(str).str.lower().isin(("true", "1")).to_numpy()
    participant = np.where(someone, "someone", li["other_participant"].astype(str).to_numpy())
    def rep(a):
        return np.repeat(np.asarray(a), n_ex)
    def til(a):
        return np.tile(np.asarray(a), n_runs)
    ids = winogender_example_ids(li)
    df = pd.DataFrame({
        "family": repeat_str([COREF_FAMILIES.get(group.name, group.name)], np.array([n_runs * n_ex])),
        "checkpoint": repeat_str(ckpts, np.full(n_runs, n_ex)),
        "pretrain_seed": rep(seeds).astype(np.int64),
        "step": np.full(n_runs * n_ex, step, dtype=np.int64),
        "task": "winogender",
        "split": "test",
        "method": "finetune",
        "layer": null_int_column(n_runs * n_ex),
        "finetune_seed": rep(ri["finetune_seed"].to_numpy()).astype(np.int64),
        "hparams": "{}",
        "example_id": til(ids).astype(str),
        "label": til(li["answer"].to_numpy()).astype(np.float64),
        "prediction": group.preds.reshape(-1).astype(np.float64),
        "score": np.nan,
        "cluster": til(li["occupation"].astype(str).to_numpy()),
        "group": group.name,
        "release": "multiberts",
        "gender": til(li["gender"].astype(str).to_numpy()),
        "occupation": til(li["occupation"].astype(str).to_numpy()),
        "participant": til(participant),
        "someone": til(someone),
        "pronoun_type": til(li["pronoun_type"].astype(str).to_numpy()),
        "template_idx": til(li["template_idx"].to_numpy()).astype(np.int64),
    })
    if occ is not None:
        missing = sorted(set(li["occupation"].astype(str)) - set(occ.index))
        if missing:
            raise PublishedFormatError(f"The occupations-stats file has no `bls_pct_female` for "
                                       f"the occupation(s) {missing[:5]} of {group.path}.")
        df["bls_pct_female"] = til(occ.reindex(li["occupation"].astype(str)).to_numpy())
    return df


def read_coref(root, groups=None, occupations=None, *,
               allow_index_gaps: bool = False) -> pd.DataFrame:
    """The tidy predictions table of the published Winogender coreference predictions.

    Parameters
    ----------
    root : path
        Folder holding the group folders (``base``, ``base_extra_seeds``,
        ``cda_intervention-50k``, ``from_scratch``), or one group folder itself.
    groups : str or list of str, optional
        Groups to read; default all present.
    occupations : path or Series, optional
        Winogender's ``occupations-stats.tsv`` (or ``occupation -> bls_pct_female``); looked
        for in ``root`` and its parent when not given. Adds ``bls_pct_female``.
    allow_index_gaps : bool
        See :func:`load_coref_group` (a gap in ``run_info.tsv``'s row numbers is an error).

    Returns
    -------
    DataFrame
        One row per (run, sentence): the columns of the tidy table (``family`` per group,
        ``checkpoint``, ``pretrain_seed``, ``step`` = 2000 (2050 for the CDA intervention:
        2M + 50k CDA steps; 2000 for from_scratch is an assumption, the files do not record
        it), ``task`` = ``winogender``, ``finetune_seed``, ``example_id`` = the
        Winogender sentence id, ``label`` = ``answer``, ``prediction`` (0 = occupation,
        1 = other participant), ``score`` = NaN (no per-example score is published),
        ``cluster`` = occupation) plus ``group``, ``release``, ``gender``, ``occupation``,
        ``participant``, ``someone``, ``pronoun_type``, ``template_idx`` and
        ``bls_pct_female`` (percent) when the occupations file is found.

    Examples
    --------
    >>> import tempfile
    >>> from multiberts_stats.testing import write_example_release
    >>> root = write_example_release(tempfile.mkdtemp(), kinds=("coref",), n_seeds=2)
    >>> t = read_coref(root / "coref", groups="base")
    >>> t.shape[0], sorted(t.pretrain_seed.unique().tolist()), t.example_id.iloc[0]
    (7200, [0, 1], 'technician.customer.1.neutral.txt')
    """
    root = require_dir(root, "root")
    if (root / "preds.tsv").is_file() and groups is None:
        loaded = [load_coref_group(root, allow_index_gaps=allow_index_gaps)]
        occ = find_occupations(root.parent, occupations)
    else:
        loaded = [load_coref_group(root / g, g, allow_index_gaps=allow_index_gaps)
                  for g in _coref_groups_arg(root, groups)]
        occ = find_occupations(root, occupations)
    return pd.concat([coref_table(g, occ) for g in loaded], ignore_index=True)


def coref_bias_scores(preds: np.ndarray, label_info: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-run, per-occupation bias: share of FEMININE minus share of MASCULINE sentences
    resolved to the occupation (prediction 0), as the published notebook's ``get_bias_score``.

    Parameters
    ----------
    preds : ndarray, shape (n_runs, n_examples)
    label_info : DataFrame with ``gender`` and ``occupation`` (n_examples rows)

    Returns
    -------
    (occupations, bias) : sorted occupation names (n_occ,), bias (n_runs, n_occ)

    Examples
    --------
    >>> li = pd.DataFrame({"gender": ["FEMININE", "MASCULINE", "FEMININE", "MASCULINE"],
    ...                    "occupation": ["nurse", "nurse", "chef", "chef"]})
    >>> coref_bias_scores(np.array([[0, 1, 1, 0]]), li)
    (array(['chef', 'nurse'], dtype=object), array([[-1.,  1.]]))
    """
    preds = np.asarray(preds)
    occ = label_info["occupation"].astype(str).to_numpy(dtype=object)
    gender = label_info["gender"].astype(str).to_numpy()
    occs, inv = np.unique(occ, return_inverse=True)
    k = len(occs)
    resolved = (preds == 0).astype(float)

    def share(mask):
        onehot = np.zeros((len(occ), k))
        onehot[np.arange(len(occ))[mask], inv[mask]] = 1.0
        counts = onehot.sum(axis=0)
        if np.any(counts == 0):
            raise PublishedFormatError("Every occupation needs FEMININE and MASCULINE sentences. "
                                       f"Got none for {list(occs[counts == 0][:5])}.")
        return resolved @ (onehot / counts)

    return occs, share(gender == "FEMININE") - share(gender == "MASCULINE")


def winogender_label_info(winogender_dir) -> pd.DataFrame:
    """The 720-row ``label_info`` table in the published order, built from Winogender's files.

    For each of the 120 templates of ``templates.tsv`` (``template_idx`` = row), with the named
    participant then ``someone``, the pronoun genders UNKNOWN, MASCULINE, FEMININE; every
    sentence is checked against ``all_sentences.tsv``.
    """
    wd = Path(winogender_dir)
    templates = read_tsv(wd / "templates.tsv", "Winogender templates",
                          ("occupation(0)", "other-participant(1)", "answer", "sentence"),
                          index_col=None)
    sent_path = wd / "all_sentences.tsv"
    sent_ids = set(read_tsv(sent_path, "Winogender sentences", ("sentid",), index_col=None)["sentid"]) \
        if sent_path.is_file() else None
    rows = []
    for t, r in templates.iterrows():
        sentence = str(r["sentence"])
        ptype = ("NOM" if "$NOM_PRONOUN" in sentence else
                 "POSS" if "$POSS_PRONOUN" in sentence else "ACC")
        for someone in (False, True):
            for gender in ("UNKNOWN", "MASCULINE", "FEMININE"):
                part = "someone" if someone else r["other-participant(1)"]
                sid = f"{r['occupation(0)']}.{part}.{int(r['answer'])}.{_GENDER_WORD[gender]}.txt"
                if sent_ids is not None and sid not in sent_ids:
                    raise PublishedFormatError(f"Winogender sentence {sid!r} is not in {sent_path}.")
                rows.append({"gender": gender, "pronoun_type": ptype, "answer": int(r["answer"]),
                             "occupation": r["occupation(0)"],
                             "other_participant": r["other-participant(1)"],
                             "someone": someone, "template_idx": int(t)})
    return pd.DataFrame(rows)
