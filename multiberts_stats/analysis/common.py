"""Checks and small pieces shared by the analyses of :mod:`multiberts_stats.analysis`.

Parameter checks with the package's error form, the random-stream rule of the analyses (the
user's ``rng`` goes to the procedure-level call unchanged, every other call gets an independent
child), how a :class:`~multiberts_stats.bootstrap.MultiBootstrapResult` is read as one
quantity (the difference for a comparison, the score for one procedure), and how warnings are
collected with their classes and issued again once.

numpy and pandas only.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from multiberts_stats.errors import InputError, InputTypeError, MultibertsStatsWarning

__all__ = [
    "CONDITION_COLS",
    "DESIGNS",
    "RUN_COLS",
    "RngStream",
    "WarningLog",
    "check_alpha",
    "check_nboot",
    "check_table",
    "common_examples",
    "distribution_of",
    "progress",
    "pvalue_of",
    "quantity_of",
    "seed_values",
    "two_sided_p",
    "verdict_of",
]

#: Columns that identify a run in the tidy table (docs/ARCHITECTURE.md).
RUN_COLS = ["family", "checkpoint", "pretrain_seed", "step", "task", "split", "method", "layer",
            "finetune_seed", "hparams"]
#: Columns that define one experimental condition (a "curve point").
CONDITION_COLS = ["family", "task", "split", "method", "layer", "step", "hparams"]
#: The designs of :func:`multiberts_stats.bootstrap.multiboot` an analysis accepts.
DESIGNS = (None, "paired", "unpaired", "fixed_baseline")


def check_table(df, name: str, func: str, seed_col: str | None = None) -> pd.DataFrame:
    """``df`` itself when it is a non-empty tidy table with ``example_id`` (and ``seed_col``)."""
    if not isinstance(df, pd.DataFrame):
        raise InputTypeError(f"The `{name}` parameter of {func} must be a tidy pandas DataFrame "
                             f"(one row per run and example). Got {type(df).__name__} instead.")
    if len(df) == 0:
        raise InputError(f"The `{name}` parameter of {func} must have at least one row. "
                         "Got an empty table instead (check the filter that selected it).")
    needed = ["example_id"] + ([seed_col] if seed_col else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"The `{name}` table of {func} must have the column(s) {missing}. "
                         f"Got columns {list(df.columns)} instead.")
    return df


def check_alpha(alpha, func: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise InputError(f"The `alpha` parameter of {func} must be a number in (0, 1). "
                         f"Got {alpha!r} instead.")
    return float(alpha)


def check_nboot(nboot, func: str) -> int:
    if isinstance(nboot, bool) or not isinstance(nboot, (int, np.integer)) or nboot < 1:
        raise InputError(f"The `nboot` parameter of {func} must be a positive integer. "
                         f"Got {nboot!r} instead.")
    return int(nboot)


def seed_values(df: pd.DataFrame, seed_col: str) -> list:
    """The sorted distinct values of ``seed_col``."""
    return sorted(pd.unique(df[seed_col]).tolist())


def common_examples(base, expt, func: str, log: WarningLog) -> tuple:
    """Restrict both sides to their shared examples (the bootstrap draws one set for both).

    Examples present on one side only are left out, with a :class:`DataWarning` in ``log``.
    """
    from multiberts_stats.errors import DataWarning

    b_ids = pd.Index(pd.unique(base["example_id"]))   # distinct ids first: fast on
    e_ids = pd.Index(pd.unique(expt["example_id"]))   # millions of rows
    shared = b_ids.intersection(e_ids)
    if len(shared) == 0:
        raise InputError(
            f"The `base` and `expt` tables of {func} must share examples (the bootstrap "
            "draws one set of examples for both sides). Got no common `example_id`: base has "
            f"{len(b_ids)} examples (e.g. {sorted(map(str, b_ids))[:3]}), expt has {len(e_ids)} "
            f"(e.g. {sorted(map(str, e_ids))[:3]}).")
    if len(shared) < len(b_ids) or len(shared) < len(e_ids):
        log.add(f"Only the {len(shared)} examples present on both sides are compared "
                f"({len(b_ids) - len(shared)} base-only and {len(e_ids) - len(shared)} expt-only "
                "examples left out).", DataWarning)
        base = base[base["example_id"].isin(shared)]
        expt = expt[expt["example_id"].isin(shared)]
    return base, expt


class RngStream:
    """Hands out the user's ``rng`` first (so the procedure-level call reproduces a direct
    ``multiboot`` call with the same ``rng``), then independent child generators.

    Examples
    --------
    >>> s = RngStream(3)
    >>> s.first()
    3
    >>> float(s.child().random()) == float(RngStream(3).child().random())
    True
    """

    def __init__(self, rng):
        self._first = rng
        if isinstance(rng, np.random.Generator):
            self._gen = rng
            self._ss = None
        elif isinstance(rng, np.random.RandomState):
            self._gen = None
            self._ss = np.random.SeedSequence(int(rng.randint(0, 2**31 - 1)))
        else:
            if rng is not None and (isinstance(rng, bool)
                                    or not isinstance(rng, (int, np.integer))):
                raise InputTypeError("The `rng` parameter must be None, an int, a numpy Generator "
                                     f"or a RandomState. Got {type(rng).__name__} instead.")
            self._gen = None
            self._ss = np.random.SeedSequence(None if rng is None else int(rng))

    def first(self):
        return self._first

    def child(self) -> np.random.Generator:
        if self._gen is not None:
            return self._gen.spawn(1)[0]
        return np.random.default_rng(self._ss.spawn(1)[0])


class WarningLog:
    """Warning messages in first-seen order, each with its class, issued once at the end.

    The engine's warnings are caught (``with log.catch(): ...``) with their classes (e.g.
    :class:`~multiberts_stats.errors.FewSeedsWarning`), so a user can filter the re-issued ones
    by class; messages carried by results without a class get ``MultibertsStatsWarning``.

    Examples
    --------
    >>> from multiberts_stats.errors import DataWarning
    >>> log = WarningLog()
    >>> log.add("two sides differ", DataWarning)
    >>> log.add("two sides differ")
    >>> log.messages
    ['two sides differ']
    """

    def __init__(self):
        self._items: dict[str, type] = {}

    def add(self, message, category: type | None = None) -> None:
        message = str(message)
        if message not in self._items:
            self._items[message] = category or MultibertsStatsWarning
        elif category is not None and self._items[message] is MultibertsStatsWarning:
            self._items[message] = category  # the class learnt from a caught warning

    def extend(self, messages: Iterable, category: type | None = None) -> None:
        for m in messages or ():
            self.add(m, category)

    def merge(self, other: WarningLog) -> None:
        for m, c in other._items.items():
            self.add(m, c)

    @property
    def messages(self) -> list[str]:
        return list(self._items)

    def catch(self):
        """Context manager recording every warning raised inside (with its class)."""
        log = self

        class _Catch:
            def __enter__(self):
                self._cm = warnings.catch_warnings(record=True)
                self._seen = self._cm.__enter__()
                warnings.simplefilter("always")
                return log

            def __exit__(self, *exc):
                self._cm.__exit__(*exc)
                for w in self._seen:
                    cat = w.category if issubclass(w.category, MultibertsStatsWarning) else None
                    log.add(w.message, cat)
                return False

        return _Catch()

    def issue(self, stacklevel: int = 3) -> None:
        """``warnings.warn`` every message once, with its class."""
        for m, c in self._items.items():
            warnings.warn(m, c, stacklevel=stacklevel)


def quantity_of(res) -> str:
    """``"delta"`` for a comparison, ``"base"`` for one procedure alone."""
    return "delta" if getattr(res, "delta_distribution", None) is not None else "base"


def distribution_of(res) -> np.ndarray:
    """The bootstrap draws of the result's quantity."""
    if quantity_of(res) == "delta":
        return np.asarray(res.delta_distribution, float)
    return np.asarray(res.distribution, float)[:, 0]


def two_sided_p(d: np.ndarray, null: float) -> float:
    """Two-sided bootstrap p-value of ``null``, floored at ``1 / len(d)``.

    Examples
    --------
    >>> two_sided_p(np.array([1.0, 2.0, 3.0, -1.0]), 0.0)
    0.5
    """
    n = len(d)
    p = 2 * min(np.mean(d <= null), np.mean(d >= null))
    return float(min(1.0, max(p, 1.0 / n)))


def pvalue_of(res, null: float) -> float:
    """The engine's two-sided p-value for a difference against 0, else from the draws."""
    q = quantity_of(res)
    if q == "delta" and null == 0 and getattr(res, "pvalue_two_sided", None) is not None:
        return float(res.pvalue_two_sided)
    return two_sided_p(distribution_of(res), null)


def verdict_of(low: float, high: float, null: float) -> str:
    """``positive`` / ``negative`` when the interval excludes ``null`` above / below, else
    ``none``."""
    if low > null:
        return "positive"
    if high < null:
        return "negative"
    return "none"


def progress(iterable, total: int, desc: str, quiet: bool):
    """A tqdm bar on stderr unless ``quiet``."""
    if quiet:
        return iterable
    from multiberts_stats._progress import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)
